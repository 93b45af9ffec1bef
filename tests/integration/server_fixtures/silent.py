import os, socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((os.environ["WIRELAB_LISTEN_HOST"], int(os.environ["WIRELAB_LISTEN_PORT"])))
s.listen()
conns = []
try:
    while True:
        conns.append(s.accept()[0])  # accepts, never reads, never answers
except KeyboardInterrupt:
    pass
