"""txredisapi's protocol with a faster command encoder and no reply conversion.

Why: txredisapi builds each command argument by argument through a generic
_encode_value (type checks, a bytearray, three extends): ~15 µs per key of a
1,000-key EVALSHA, more than Redis spends running it. Our arguments are only
bytes, str and int, so one %-format per argument does: ~0.5 µs (hiredis's
pack_command, where there is one, does it in C in half that). This overrides
a private method of txredisapi 1.6 (the one execute_command calls); the test
suite exercises it on every command.

Replies: the store wants bytes as Redis sent them (payloads are binary, ids
must not turn into ints), i.e. charset=None and convertNumbers=False, for which
txredisapi's tryConvertData still walks every element of every array reply
(~5 µs per stream entry read). With hiredis the reply already is bytes, ints
and lists: nothing to convert.

Answers: txredisapi answers a command through a DeferredQueue, a Deferred of
the queue and one of the command (fire_result), several µs per reply. The
store's batches (redis.py _Flight) queue theirs with queue_command instead and
write the batch with one flush() (sent at once where the socket takes it:
smpprouter/sending.py): the reply goes straight to the batch's handler, in
the order the commands were written. Every command on the connection has its
place in one FIFO, so txredisapi's own execute_command (start-up, AUTH,
SELECT, the cluster and sentinel commands) still works beside it: its place
says "txredisapi's queue", and it flushes what is queued first.
"""

from collections import deque

import txredisapi

from ..sending import write as _send_now
from ..tcp import set_no_delay


try:
    from hiredis import pack_command as _pack   # hiredis >= 2.1: the same bytes, in C
except ImportError:
    _pack = None


def encode_command(args) -> bytes:
    if _pack is not None:
        try:
            return _pack(tuple(args))   # ~2x faster than the loop below
        except TypeError:   # a type it does not take (bool, bytearray): the loop's way
            pass
    return _encode(args)


def _encode(args) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    append = out.append
    for a in args:
        kind = type(a)
        if kind is not bytes:
            a = a.encode() if kind is str else b"%d" % a if kind is int else str(a).encode()
        append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class FastProtocol(txredisapi.RedisProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # per command written and not answered: (done, failed, ctx) of a
        # queue_command, None for txredisapi's reply queue
        self._answers = deque()
        self._unsent = []   # queued commands' octets, until flush()

    def connectionMade(self):
        set_no_delay(self.transport)
        return super().connectionMade()

    def queue_command(self, args, done, failed, ctx):
        """Queue args to be written at the next flush(); done(reply, ctx) when
        Redis answers, or failed(exception, ctx) for an error reply
        (txredisapi.ResponseError) or a lost connection (txredisapi.ConnectionError).
        Raises ConnectionError when not connected."""
        if not self.connected:
            raise txredisapi.ConnectionError("Not connected")
        self._unsent.append(encode_command(args))
        self._answers.append((done, failed, ctx))

    def flush(self):
        """Write what is queued: a batch's commands in one send (sending.py:
        now, where the socket takes it, not at the next poll)."""
        unsent = self._unsent
        if unsent:
            self._unsent = []
            _send_now(self.transport, unsent[0] if len(unsent) == 1 else b"".join(unsent))

    def send_command(self, args, done, failed, ctx):
        """queue_command, written now."""
        self.queue_command(args, done, failed, ctx)
        self.flush()

    def execute_command(self, *args, **kwargs):
        self.flush()   # its place in the FIFO is after what is queued
        d = super().execute_command(*args, **kwargs)
        self._answers.append(None)
        return d

    def replyReceived(self, reply):
        answers = self._answers
        waiting = answers.popleft() if answers else None
        if waiting is None:
            self.replyQueue.put(reply)
        elif isinstance(reply, Exception):   # an error reply, as txredisapi makes it
            waiting[1](reply, waiting[2])
        else:
            waiting[0](reply, waiting[2])

    def connectionLost(self, why):
        answers, self._answers = self._answers, deque()
        self._unsent = []
        super().connectionLost(why)   # txredisapi's waiters get its ConnectionError
        error = txredisapi.ConnectionError("Lost connection")
        for waiting in answers:
            if waiting is not None:
                waiting[1](error, waiting[2])

    def _build_command(self, *args, **kwargs):
        return encode_command(args)

    if txredisapi.hiredis is not None:
        def tryConvertData(self, data):
            return data

        def dataReceived(self, data, unpause=False):
            # txredisapi's loop also converts each reply and counts MULTI's
            # QUEUED answers: the store uses no MULTI, and converts nothing
            reader = self._reader
            if data:
                reader.feed(data)
            reply = reader.gets()
            while reply is not False:
                self.replyReceived(reply)
                reply = reader.gets()
