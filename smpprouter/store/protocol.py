"""txredisapi's protocol with a faster command encoder and no reply conversion.

Why: txredisapi builds each command argument by argument through a generic
_encode_value (type checks, a bytearray, three extends): ~15 µs per key of a
1,000-key EVALSHA, more than Redis spends running it. Our arguments are only
bytes, str and int, so one %-format per argument does: ~0.5 µs. This overrides
a private method of txredisapi 1.6 (the one execute_command calls); the test
suite exercises it on every command.

Replies: the store wants bytes as Redis sent them (payloads are binary, ids
must not turn into ints), i.e. charset=None and convertNumbers=False, for which
txredisapi's tryConvertData still walks every element of every array reply
(~5 µs per stream entry read). With hiredis the reply already is bytes, ints
and lists: nothing to convert.
"""

import txredisapi

from ..tcp import set_no_delay


def encode_command(args) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    append = out.append
    for a in args:
        kind = type(a)
        if kind is not bytes:
            a = a.encode() if kind is str else b"%d" % a if kind is int else str(a).encode()
        append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class FastProtocol(txredisapi.RedisProtocol):
    def connectionMade(self):
        set_no_delay(self.transport)
        return super().connectionMade()

    def _build_command(self, *args, **kwargs):
        return encode_command(args)

    if txredisapi.hiredis is not None:
        def tryConvertData(self, data):
            return data
