"""TCP_NODELAY for every connection we hold.

SMPP and Redis are request/response with small messages: with Nagle's
algorithm on, a small write waits for the peer's delayed ACK (~40 ms on
Linux), which capped a window-1 session at 42 msg/s and the whole router
at a few hundred. TLS wraps the TCP transport, so look beneath it.
"""


def set_no_delay(transport) -> bool:
    while transport is not None:
        setter = getattr(transport, "setTcpNoDelay", None)
        if setter is not None:
            try:
                setter(True)
            except OSError:   # not a TCP socket (a UNIX socket, say)
                return False
            return True
        transport = getattr(transport, "transport", None)
    return False
