"""Charging prepaid users, refunding them once, metering the others.

A prepaid user's message is charged (parts x the route's price per part, in
the router's minor unit) before anything is sent; a short balance refuses it
with ESME_RINVBALANCE. What the user is told failed is refunded:
- synchronous path: any answer but ESME_ROK after the charge (the upstream
  refused it, no route could take it, its mapping could not be stored).
  The answer is given once, in this process, so the refund is a plain amount
  and no marker is kept (unless the route refunds UNDELIV: see below).
- store and forward: a failed enqueue, and later REJECTED or EXPIRED in
  whichever process ends it. Those may be repeated (a crash, an expiry lease),
  so the charge leaves a marker chg:{user}:<id> for the message's lifetime
  and each refund takes the marker: once, whoever asks.
- an UNDELIV receipt, when the route says refund_undelivered: the charge's
  marker is flagged for it and lives until dlr_expiry.
A refund that cannot reach Redis is logged with the user, id and amount
(and counted, `refunds_failed`); the ledger shows whether it happened.

Postpaid users on priced routes are metered in this process (`metered`,
`metered_parts`: user -> minor units, parts): no Redis command, nothing per
message but a closure that counts it when it is accepted. That and `low_balance_hooks` are where
the metrics and the low-balance webhook attach.

Low balance: the charge script itself tells which charge took the balance
below the user's low_balance, so each crossing is logged once across all
processes; a top-up above the threshold arms it again.
"""

from collections import Counter

from twisted.logger import Logger

from ..store.credits import REFUND_ANY, REFUND_MARKED, REFUND_UNDELIVERED
from ..smpp.status import Status

UNDELIVERED = 5   # SMPP message_state UNDELIVERABLE


class Credits:
    log = Logger()

    def __init__(self, store, users, counters):
        self.store = store
        self.users = users             # name -> config.User
        self.counters = counters
        self.prepaid = frozenset(u.name for u in users.values() if u.prepaid)
        self.metered = Counter()        # postpaid user -> minor units sent
        self.metered_parts = Counter()  # postpaid user -> parts sent
        #: callables(user, balance, threshold), after the warning is logged: the
        #: place for a webhook or a metric (the HTTP issue's low-balance webhook)
        self.low_balance_hooks = []

    # -- charging ---------------------------------------------------------------

    def charge(self, user, amount, message_id, ttl, flag, why):
        """Deferred(True) once charged, False when the balance is short."""
        self.counters["charges"] += 1
        d = self.store.charge(user.name, amount, message_id, ttl, flag, why,
                              user.low_balance)
        return d.addCallback(self._charged, user)

    def _charged(self, result, user):
        balance, crossed = result
        if balance is None:
            self.counters["refused_balance"] += 1
            return False
        if crossed:
            self.low_balance(user.name, balance, user.low_balance)
        return True

    def low_balance(self, name, balance, threshold):
        # smpprouter_events_total{event="low_balance"} on /metrics: the alert's signal
        self.counters["low_balance"] += 1
        self.log.warn("user {user}: balance {balance} fell below its low_balance {threshold}",
                      user=name, balance=balance, threshold=threshold)
        for hook in self.low_balance_hooks:
            try:
                hook(name, balance, threshold)
            except Exception:
                self.log.failure("low-balance hook failed")

    # -- refunding ----------------------------------------------------------------

    def refund(self, user, message_id, amount, marked, why):
        """Deferred(balance or None). marked: the charge left a marker (take it)."""
        self.counters["refunds"] += 1
        d = self.store.refund(user, message_id, amount,
                              REFUND_MARKED if marked else REFUND_ANY, why)
        return d.addErrback(self._refund_failed, user, message_id, amount)

    def refund_undelivered(self, user, message_id):
        """An UNDELIV receipt of a prepaid user: refunded if its route said so."""
        d = self.store.refund(user, message_id, 0, REFUND_UNDELIVERED, "UNDELIV")
        d.addErrback(self._refund_failed, user, message_id, 0)

    def _refund_failed(self, failure, user, message_id, amount):
        self.counters["refunds_failed"] += 1
        self.log.error("user {user}: refund of {message_id} ({amount} or its marked charge) "
                       "not applied: {error}; check its ledger", user=user,
                       message_id=message_id, amount=amount, error=failure.getErrorMessage())
        return None

    def refunding(self, user, message_id, amount, marked, answer):
        """answer, refunding first when the Outcome is not ESME_ROK."""
        def answer_and_refund(outcome):
            if outcome.status != Status.ESME_ROK:
                self.refund(user, message_id, amount, marked, _status_name(outcome.status))
            answer(outcome)
        return answer_and_refund

    def metering(self, user, amount, parts, answer):
        """answer, metering a postpaid user's message once it is accepted."""
        def answer_and_meter(outcome):
            if outcome.status == Status.ESME_ROK:
                self.metered[user] += amount
                self.metered_parts[user] += parts
            answer(outcome)
        return answer_and_meter


def _status_name(status):
    try:
        return Status(status).name
    except ValueError:
        return "0x%08X" % status
