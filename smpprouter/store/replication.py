"""`[redis] wait_replicas`: no answer to a store call before a replica has its write.

Why: Redis replicates asynchronously. A primary that dies (or is demoted by
a failover) takes with it the writes its replicas had not received yet, and
those writes are the ones that made an acceptance (a mapping, a queued
message) or a receipt (its delivery-queue entry) durable. With WAIT after the
commands of a flush, each caller's Deferred fires only once `replicas`
replicas acknowledged everything written before it, so whatever the router
answered ESME_ROK to survives the promotion of such a replica.

One WAIT per flush (per reactor turn), never per message: the replies of the
flush's commands are held until WAIT's reply, which Redis sends after all of
them (one connection, in order). Fewer replicas than asked within `timeout_ms`:
every held call fails with StoreUnavailable (the write may exist on the primary
but is not promised), the store reads as unavailable (so the core refuses new
work with ESME_RTHROTTLED) and its probe, itself waiting, clears that once a
replica acknowledges again. Errors are not held: a failure promises nothing.
"""

from .errors import StoreUnavailable
from .redis import _Flight


class WaitingFlight(_Flight):
    __slots__ = ("held", "waits", "launched")

    def __init__(self, store):
        super().__init__(store)
        self.held = []        # [(reply, items, handler, ctx)] until WAIT answers
        self.waits = 0        # WAITs sent and not answered
        self.launched = False

    def send(self, args, items, handler, ctx=None):
        super().send(args, items, handler, ctx)
        if self.launched and self.conn is not None:
            self._wait()   # a command sent after the WAIT (an EVAL after NOSCRIPT)

    def launch(self):
        if self.conn is not None and self.outstanding:
            self._wait()
        self.launched = True
        super().launch()

    def _wait(self):
        store = self.store
        try:
            d = self.conn.execute_command(b"WAIT", store.wait_replicas, store.wait_timeout_ms)
        except Exception as e:   # txredisapi.ConnectionError: the commands before fail too
            self._release_failed(self._unavailable(e))
            return
        self.waits += 1
        self.outstanding += 1
        store.commands += 1
        d.addCallbacks(self._waited, self._wait_failed)

    def _reply(self, reply, items, handler, ctx):
        self.held.append((reply, items, handler, ctx))
        self._finished()

    def _waited(self, reply):
        self.waits -= 1
        store = self.store
        if int(reply) < store.wait_replicas:
            store._impaired = True
            store.errors["unreplicated"] += 1
            self._release_failed(StoreUnavailable(
                f"Redis at {store.address}: {int(reply)} of {store.wait_replicas} replicas "
                f"acknowledged within {store.wait_timeout_ms} ms"))
        elif self.waits == 0:
            store._impaired = False
            held, self.held = self.held, []
            for reply, items, handler, ctx in held:
                self.outstanding += 1   # counted down once already, when it was held
                super()._reply(reply, items, handler, ctx)
        self._finished()

    def _wait_failed(self, failure):
        self.waits -= 1
        self._release_failed(self._unavailable(failure.value))
        self._finished()

    def _release_failed(self, error):
        held, self.held = self.held, []
        for _, items, _, _ in held:
            self._fail_items(items, error)
