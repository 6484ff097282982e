"""Octets sent in the caller's turn where Twisted would only buffer them.

Why: Twisted's FileDescriptor.write appends to a buffer and asks the reactor
to watch the socket for writing (an epoll_ctl); the next poll reports it
writable, doWrite sends, the buffer is empty, and the watch is dropped again
(another epoll_ctl), each event wrapped in Twisted's log context. The router
writes once per session per reactor turn (protocol/base.py TurnWriter) and
once per Redis batch, almost always to a socket that takes it all at once:
sending right away saves the two syscalls and the event per write.

Only where that is exactly what Twisted would do next: a plain TCP (or Unix
stream) connection (not TLS, not a test transport) that holds nothing
unsent, is not closing, half-closed or aborted, and has no producer (a pull
producer is resumed by doWrite). What the socket does not take now (EAGAIN, a partial
send) or an error goes to transport.write as before, so ordering,
back-pressure and the loss of the connection stay Twisted's.
"""

from twisted.internet.tcp import Connection


def sends_now(transport) -> bool:
    """Whether octets written to transport now may go straight to its socket.

    These are the attributes of Twisted's FileDescriptor and tcp.Connection
    (26.10) that say "nothing buffered, nothing pending": tests/test_sending.py
    fails if Twisted renames or changes them."""
    return (isinstance(transport, Connection) and transport.connected
            and not transport.dataBuffer and not transport._tempDataLen
            and not transport.disconnecting and not transport._writeDisconnecting
            and not transport._aborting and transport.producer is None
            and not transport.TLS)


def write(transport, data: bytes) -> None:
    """transport.write(data), with what the socket takes now sent at once
    where sends_now(transport)."""
    if sends_now(transport):
        sent = transport.writeSomeData(data)   # bytes sent, or the error it met
        if type(sent) is int:
            if sent == len(data):
                return
            if sent:
                data = data[sent:]
        # else the connection is lost: Twisted's doWrite meets the error again
    transport.write(data)
