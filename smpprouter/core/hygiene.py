"""Message hygiene: number lists and duplicates, the refusals seed 002 names.

Lists (sets in Redis, store/lists.py; `smpprouter lists` edits them), each
global and per user, checked in this order, the first that refuses wins:

    sender  blocked sender ids (source_addr, policy/numberlists.sender_id)
                                refused: 451 SNDR-BLOCK
    dnd     do not disturb          refused: 408 DNDNUMB
    block   blocklisted             refused: 450 BLACKLST
    optout  opted out               refused: 456 OPTOUT-REJ
    optin   on a route with require_opt_in, a number in neither the user's nor
            the global opt-in list  refused: 455 NOT-OPTIN

A user with `duplicate_window` has the same destination, data_coding and body
within that many seconds refused: 460 DUPLICATE (seed 000's 18). The
fingerprint goes once the message is refused for another reason (a throttled
ESME sends it again, and that is no duplicate).

What a refusal looks like: a synchronous user hears ESME_RINVSRCADR for a
blocked sender id (seed 000's and 002's status for a bad source), ESME_RINVDSTADR for a
listed number (the destination may not be sent to: every ESME library takes
it as final for that message, and a vendor code it does not know is often
retried), ESME_RSUBMITFAIL for a duplicate (final, and not about the
address). A store-and-forward user hears ESME_ROK with an id, then the
router's own REJECTD receipt with err the seed's code, as seed 002's
platform answers, so its code reaches the user.

Cost: which lists are not empty is known here, refreshed every
LIST_REFRESH seconds with one SMEMBERS, so a message that no list, no opt-in
route and no duplicate window applies to pays nothing (MTPath tests `active`
and the two settings). Otherwise each applicable list is one SMISMEMBER per
reactor turn for all the turn's messages, and a user's duplicate
fingerprints one script per turn. A list edited by the CLI applies within
LIST_REFRESH.
"""

import hashlib
from dataclasses import dataclass

from twisted.internet import defer, task
from twisted.logger import Logger

from ..policy.numberlists import sender_id
from ..routing.rules import normalise
from ..smpp.status import Status
from ..store import keys

LIST_REFRESH = 1.0   # seconds


@dataclass(frozen=True, slots=True)
class Refusal:
    kind: str
    code: int        # seed 002's code, for the receipt's err:
    status: int      # what a synchronous user hears


SENDER = Refusal("sender", 451, Status.ESME_RINVSRCADR)
DND = Refusal("dnd", 408, Status.ESME_RINVDSTADR)
BLOCK = Refusal("block", 450, Status.ESME_RINVDSTADR)
OPTOUT = Refusal("optout", 456, Status.ESME_RINVDSTADR)
NOT_OPTED_IN = Refusal("optin", 455, Status.ESME_RINVDSTADR)
DUPLICATE = Refusal("duplicate", 460, Status.ESME_RSUBMITFAIL)
OUTSIDE_HOURS = Refusal("hours", 457, Status.ESME_RSUBMITFAIL)   # policy/hours.py
# core/content.py: the message itself is refused, finally (ESME_RX_T_APPN is retried)
CONTENT = Refusal("content", 407, Status.ESME_RX_R_APPN)
SEED_000_DUPLICATE = 18   # the same refusal in seed 000's table
BLOCKING = (DND, BLOCK, OPTOUT)   # lists of destinations
KINDS = (SENDER.kind,) + tuple(r.kind for r in BLOCKING) + (NOT_OPTED_IN.kind,)


class Hygiene:
    log = Logger()

    def __init__(self, store, clock):
        self.store = store
        self.clock = clock
        self.present = frozenset()   # keys of the lists not empty, as last read
        self.active = False          # any list at all: messages must be looked up
        self._lists = {}             # user -> _lists_of(user)
        self._refresh = task.LoopingCall(self.refresh)
        self._refresh.clock = clock

    def start(self):
        if hasattr(self.store, "lists_present"):   # a store without lists has none
            self._refresh.start(LIST_REFRESH, now=True)

    def stop(self):
        if self._refresh.running:
            self._refresh.stop()

    def refresh(self):
        """Deferred: the lists present read again (tests await it after an edit)."""
        if not self.store.available:
            return defer.succeed(None)
        return self.store.lists_present().addCallbacks(self._refreshed, self._unrefreshed)

    def _refreshed(self, present):
        self.present = frozenset(present)
        self.active = bool(present)

    def _unrefreshed(self, failure):
        # the last known lists stay in force
        self.log.warn("number lists not refreshed: {error}", error=failure.getErrorMessage())

    def check(self, user, s, opt_in, source):
        """Deferred((Refusal or None, the duplicate fingerprint's key or None)); source:
        the source_addr as the ESME sent it (before a route's rewriting)."""
        destination = normalise(s.destination)
        present = self.present
        lists = self._lists.get(user.name)
        if lists is None:
            lists = self._lists[user.name] = _lists_of(user.name)
        asked = []
        store = self.store
        for key in lists[2]:
            if key in present:
                asked.append((SENDER, store.in_list(key, sender_id(source))))
        for refusal, key in lists[0]:
            if key in present:
                asked.append((refusal, store.in_list(key, destination)))
        if opt_in:
            keys_in = [key for key in lists[1] if key in present]
            if not keys_in:
                return defer.succeed((NOT_OPTED_IN, None))
            for key in keys_in:
                asked.append((None, store.in_list(key, destination)))
        dup = None
        if user.duplicate_window:
            dup = keys.duplicate(user.name, fingerprint(destination, s.data_coding, s.body))
            asked.append((DUPLICATE, self.store.first_seen(user.name, dup, user.duplicate_window)))
        if len(asked) == 1:   # the common case of a feature in use: one question
            return asked[0][1].addCallback(lambda answer: self._decided((answer,), asked,
                                                                        opt_in, dup))
        d = defer.gatherResults([a[1] for a in asked], consumeErrors=True)
        d.addErrback(lambda f: f.value.subFailure)
        return d.addCallback(self._decided, asked, opt_in, dup)

    def _decided(self, answers, asked, opt_in, dup):
        opted_in = False
        refusal = None
        for (kind, _), answer in zip(asked, answers):
            if kind is None:
                opted_in = opted_in or answer
            elif kind is DUPLICATE:
                if not answer:     # seen: the fingerprint is the first message's, it stays
                    dup = None
                    if refusal is None and (opted_in or not opt_in):
                        refusal = DUPLICATE
            elif answer and refusal is None:
                refusal = kind
        if refusal is None and opt_in and not opted_in:
            refusal = NOT_OPTED_IN
        if refusal is not None and dup is not None:
            self.store.forget(dup).addErrback(lambda f: None)
            dup = None
        return refusal, dup


def _lists_of(user):
    """((refusal, list key) to look a number up in, in order), (opt-in list keys),
    (sender list keys))."""
    blocking = tuple((refusal, key) for refusal in BLOCKING
                     for key in (keys.number_list(refusal.kind),
                                 keys.number_list(refusal.kind, user)))
    return (blocking, (keys.number_list("optin"), keys.number_list("optin", user)),
            (keys.number_list(SENDER.kind), keys.number_list(SENDER.kind, user)))


def fingerprint(destination, data_coding, body):
    """What makes two messages of a user the same: destination, coding and octets."""
    h = hashlib.blake2b(digest_size=16)
    h.update(destination.encode("utf-8", "surrogatepass"))
    h.update(b"\0%d\0" % data_coding)
    h.update(body)
    return h.hexdigest().encode()
