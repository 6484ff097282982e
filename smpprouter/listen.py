"""Listening sockets, shared between router processes when there are several.

Several router processes on one machine serve one port: each creates its
own socket with SO_REUSEPORT and the kernel spreads new connections across
them, so no process is a front door for the others (and a dead one takes no
traffic). Twisted's endpoint strings cannot ask for SO_REUSEPORT, so for
TCP listeners of a worker we make the socket and hand it to the reactor
(adoptStreamPort); everything else goes through serverFromString.
"""

import socket

from twisted.internet import defer, endpoints
from twisted.internet.endpoints import _parseServer


def listen(reactor, description, factory, reuse_port=False):
    """Deferred(IListeningPort) for a server endpoint string."""
    if not reuse_port or not description.startswith("tcp:"):
        return endpoints.serverFromString(reactor, description).listen(factory)
    _, (port, _), options = _parseServer(description, None)
    interface = options.get("interface", "")
    family = socket.AF_INET6 if ":" in interface else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((interface, port))
        sock.listen(options.get("backlog", 50))
        sock.setblocking(False)
        return defer.succeed(reactor.adoptStreamPort(sock.fileno(), family, factory))
    except OSError as e:
        return defer.fail(e)
    finally:
        sock.close()   # the reactor holds its own duplicate of the descriptor
