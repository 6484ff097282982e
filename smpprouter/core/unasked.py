"""Receipts nobody asked for: answered at once, not parked.

A mapping is stored only when a receipt was asked for, so a receipt for a
message sent with registered_delivery 0 (some upstreams send one anyway)
finds none, and the receipt path would park it for receipt_wait, holding a
slot of the upstream's window, for a mapping that never comes. The router
cannot look up what it never stored; what it can do costs the synchronous
path nothing while upstreams behave:

1. Armed per connector, per process, by the first receipt whose mapping is
   missing (a race or an unasked receipt: either way this upstream sends
   receipts the path cannot find at once). Until then nothing is done per
   message.
2. Once armed, this process remembers the upstream ids (normalised) of the
   last LIMIT receipt-less messages it sent through that connector, in
   memory: a dict insert, no Redis. A receipt for one of them is answered
   ESME_ROK at once (receipts_unwanted).
3. Such a hit proves the upstream sends unasked receipts; from then on each
   receipt-less message this process sends through it also stores a marker,
   the mapping itself with its registered_delivery 0 (batched with the
   turn's mappings, EX dlr_expiry, no query_sm record), so the receipt is
   answered at once by whichever process's bind it reaches. A marker costs
   about what the unasked receipt's own lookup does; it is never written for
   an upstream that does not send them.

What stays parked: the first unasked receipts of a connector in a process
(before it is armed), receipts for messages older than the last LIMIT, and
those reaching a process that has no proof yet and no marker; parking is
bounded as before (receipts.Receipts._park).
"""

LIMIT = 16384   # upstream ids remembered per connector: about 2 MB


class Unasked:
    __slots__ = ("armed", "proven")

    def __init__(self):
        self.armed = {}        # connector -> {normalised upstream id: None}, oldest first
        self.proven = set()    # connectors whose unasked receipts this process has seen

    def arm(self, connector):
        """A receipt found no mapping: start remembering receipt-less messages."""
        if connector not in self.armed:
            self.armed[connector] = {}

    def sent(self, connector, key) -> bool:
        """A receipt-less message went through an armed connector as `key`;
        True when a marker should be stored for it too (step 3)."""
        keys = self.armed.get(connector)
        if keys is not None:
            keys[key] = None
            if len(keys) > LIMIT:
                del keys[next(iter(keys))]
        return connector in self.proven

    def claims(self, connector, key) -> bool:
        """Whether a receipt with no mapping is for a message sent without asking."""
        keys = self.armed.get(connector)
        if keys is None or key not in keys:
            return False
        del keys[key]
        self.proven.add(connector)
        return True
