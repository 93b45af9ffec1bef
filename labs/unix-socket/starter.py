"""unix-socket: read two sensors from a local hub.

The hub listens on a unix stream socket at WIRELAB_HUB_PATH. It greets with
a line 'HUB 1.0 ready'; 'READ temp' and 'READ humidity' get 'VALUE <name>
<value>'; 'BYE' gets 'BYE' and the hub closes. Lines end with '\\n'.

Print 'temp=<value> humidity=<value>', then say BYE.
"""
import os
import socket

PATH = os.environ.get("WIRELAB_HUB_PATH", "/tmp/hub.sock")

# TODO: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM), connect(PATH), ...
