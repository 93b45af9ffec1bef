"""unix-socket: read two sensors from a local hub, then log them.

The hub listens on a unix stream socket at WIRELAB_HUB_PATH. It greets with
a line 'HUB 1.0 ready'; 'READ temp' and 'READ humidity' get 'VALUE <name>
<value>'; 'BYE' gets 'BYE' and the hub closes. Lines end with '\\n'.

The logger reads 'LOG <text>' lines from the fifo at WIRELAB_LOGGER_IN and
answers one line on the fifo at WIRELAB_LOGGER_OUT.

Print 'temp=<value> humidity=<value>', then the logger's answer.
"""
import os
import socket

PATH = os.environ.get("WIRELAB_HUB_PATH", "/tmp/hub.sock")
LOG_IN = os.environ.get("WIRELAB_LOGGER_IN", "/tmp/logger.in")
LOG_OUT = os.environ.get("WIRELAB_LOGGER_OUT", "/tmp/logger.out")

# TODO: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM), connect(PATH), ...
# TODO: open(LOG_IN, "w") and open(LOG_OUT), write 'LOG ...\n', flush, read the answer
