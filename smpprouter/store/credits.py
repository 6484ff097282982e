"""Prepaid credit for RedisStore: balances, charges, refunds and their ledger.

A mixin, like outbound.py, because it shares the connection and the per-turn
batching: every charge asked during one reactor turn for one user goes out as
one CHARGE script (and every refund as one REFUND), so a 10,000-number HTTP
batch costs a handful of scripts, and two processes charging the same user
are serialised by Redis itself: a balance is never overdrawn by a unit. The
script and the key layout are in scripts.py and keys.py (one {user} slot).

Only prepaid users' messages come here; nobody else pays a command for it.
"""

from twisted.internet import defer

from . import keys, scripts
from .batching import chunks as _chunks, resolve as _resolve

# What refund() takes as `mode` (scripts.REFUND). A charge made with a marker
# (ttl > 0) must be refunded by its marker only (REFUND_MARKED or
# REFUND_UNDELIVERED): once the marker is taken, nothing more comes back.
REFUND_ANY = ""          # the marker if there is one, else the amount given: for a
                         # charge without a marker, refunded once by its only owner
REFUND_MARKED = "m"      # only a marked charge (store and forward: any process may ask)
REFUND_UNDELIVERED = "u"  # only a charge marked as refunded on UNDELIV


def _b(text) -> bytes:
    return text.encode("utf-8", "surrogatepass") if type(text) is str else text


class CreditsMixin:
    """The ICreditStore half of RedisStore (see the module docstring)."""

    def _init_credits(self, ledger_max):
        self.ledger_max = int(ledger_max)
        self._charges = {}   # user -> (low, [(amount, id, ttl, flag, why, d)])
        self._refunds = {}   # user -> [(id, amount, mode, why, d)]

    def charge(self, user, amount, message_id, ttl=0, flag="", why="", low=0):
        """Deferred((balance after, crossed)) or (None, False) when the balance is
        short (nothing charged). ttl > 0 leaves a marker for that long, so that a
        later refund (REFUND_MARKED / REFUND_UNDELIVERED with flag "u") finds it;
        crossed: this charge took the balance below `low`."""
        if not self._running:
            return self._not_running()
        d = defer.Deferred()
        batch = self._charges.get(user)
        if batch is None:
            batch = self._charges[user] = (int(low), [])
        batch[1].append((int(amount), _b(message_id), int(ttl), flag, _b(why), d))
        self._schedule()
        return d

    def refund(self, user, message_id, amount=0, mode=REFUND_ANY, why=""):
        """Deferred(balance after, or None when nothing was refunded): see scripts.REFUND."""
        if not self._running:
            return self._not_running()
        d = defer.Deferred()
        items = self._refunds.get(user)
        if items is None:
            items = self._refunds[user] = []
        items.append((_b(message_id), int(amount), mode, _b(why), d))
        self._schedule()
        return d

    def credit(self, user, amount, who, why):
        """Deferred(balance after): add amount (negative for a correction), ledgered."""
        d = self._command(b"EVALSHA", scripts.CREDIT.sha, 2, keys.balance(user),
                          keys.ledger(user), self.ledger_max, int(amount), _b(who), _b(why))
        return d.addCallback(int)

    def balance(self, user):
        """Deferred(int): the user's balance (0 when it never had one)."""
        return self._command(b"GET", keys.balance(user)).addCallback(
            lambda raw: int(raw) if raw is not None else 0)

    def ledger(self, user, count=10):
        """Deferred(list of dicts, newest first): the last count entries of the ledger,
        each with `at` (unix ms, from the entry id) and its fields as text."""
        d = self._command(b"XREVRANGE", keys.ledger(user), b"+", b"-", b"COUNT", int(count))
        return d.addCallback(_entries)

    def _flush_credits(self, flight):
        if not (self._charges or self._refunds):
            return
        charges, refunds = self._charges, self._refunds
        self._charges, self._refunds = {}, {}
        size = self.max_batch
        who = _b(self.instance)
        for user, (low, items) in charges.items():
            head = [b"EVALSHA", scripts.CHARGE.sha, 2, keys.balance(user), keys.ledger(user),
                    self.ledger_max, keys.charge_prefix(user), who, low]
            for chunk in _chunks(items, size):
                args = list(head)
                for amount, message_id, ttl, flag, why, _ in chunk:
                    args += (amount, message_id, ttl, flag, why)
                flight.send(args, chunk, _charged)
        for user, items in refunds.items():
            head = [b"EVALSHA", scripts.REFUND.sha, 2, keys.balance(user), keys.ledger(user),
                    self.ledger_max, keys.charge_prefix(user), who]
            for chunk in _chunks(items, size):
                args = list(head)
                for message_id, amount, mode, why, _ in chunk:
                    args += (message_id, amount, mode, why)
                flight.send(args, chunk, _refunded)


def _charged(reply, items):
    crossed = int(reply[0])
    for n, (item, balance) in enumerate(zip(items, reply[1:]), 1):
        if balance is None:
            _resolve(item[-1], (None, False))
        else:
            _resolve(item[-1], (int(balance), n == crossed))


def _refunded(reply, items):
    for item, balance in zip(items, reply):
        _resolve(item[-1], None if balance is None else int(balance))


def _entries(reply):
    out = []
    for entry_id, fields in reply:
        entry = {"at": int(entry_id.split(b"-")[0])}
        for i in range(0, len(fields) - 1, 2):
            entry[fields[i].decode()] = fields[i + 1].decode("utf-8", "replace")
        out.append(entry)
    return out
