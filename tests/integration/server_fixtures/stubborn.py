import os, signal, socket, threading
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((os.environ["WIRELAB_LISTEN_HOST"], int(os.environ["WIRELAB_LISTEN_PORT"])))
s.listen()
def serve(c):
    with c:
        for line in c.makefile("rb"):
            c.sendall(b"HI\n")
while True:
    threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
