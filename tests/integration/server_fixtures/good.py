import os, socket, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((os.environ["WIRELAB_LISTEN_HOST"], int(os.environ["WIRELAB_LISTEN_PORT"])))
s.listen()
def serve(c):
    with c:
        for line in c.makefile("rb"):
            c.sendall(b"HI\n")
try:
    while True:
        threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
except KeyboardInterrupt:
    pass
