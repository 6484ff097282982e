"""Who may even try to bind: source networks, and the password-guessing lockout.

A bind is checked here before its password is: a source outside the user's
allow_from, or a source IP or system_id locked out after too many failures,
is refused with ESME_RBINDFAIL and no scrypt runs, so a flood of guesses
costs the router a Redis round trip per bind, not tens of milliseconds of
CPU. The counts live in the store (store/lockout.py), so a lockout holds in
every process sharing the Redis; each process also remembers the locks it
has seen until they end, so a flood from a locked address costs no Redis
round trip at all.

What counts as a failure: an unknown system_id (against the source IP
only: counting names that do not exist would let a guesser fill Redis), a
wrong password (against the IP and the system_id), and a bind from outside
the user's allow_from (against the IP only, so nobody outside a user's
networks can lock that user out). A lockout is logged once, by the process
whose failure set it; every refusal is counted.

Why ESME_RBINDFAIL for a disallowed source, not ESME_RINVSYSID: the
credentials may well be right, and saying "no such system_id" would send
the ESME's operator hunting the wrong problem; RBINDFAIL is the generic
refusal, and like every error bind_resp it carries nothing else.
"""

import ipaddress

from twisted.internet import defer
from twisted.logger import Logger

def source_address(host):
    """The ip_address of a peer's host string, IPv4-mapped IPv6 as IPv4; None
    for a peer without one (a unix socket)."""
    if not host:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def allowed(address, networks) -> bool:
    """Whether a bind from address may proceed under a user's allow_from
    (empty: from anywhere). A peer without an address (a unix socket) matches
    no network."""
    if not networks:
        return True
    if address is None:
        return False
    return any(address in network for network in networks)


class BindGuard:
    log = Logger()

    def __init__(self, security, store, clock, counters):
        self.security = security
        self.store = store
        self.clock = clock
        self.counters = counters
        self.enabled = security.bind_failures > 0
        self._locked = {}   # subject -> when its lock ends (clock time), as last seen

    @staticmethod
    def subjects(address, user):
        """The subjects a bind is counted against: its source IP, and the
        system_id when the router knows it."""
        out = []
        if address is not None:
            out.append("ip:%s" % address)
        if user is not None:
            out.append("id:%s" % user.name)
        return out

    def locked(self, subjects):
        """Deferred(bool): whether any subject is locked out now."""
        if not self.enabled or not subjects:
            return defer.succeed(False)
        now = self.clock.seconds()
        for subject in subjects:
            until = self._locked.get(subject)
            if until is not None:
                if until > now:
                    return defer.succeed(True)
                del self._locked[subject]
        d = self.store.lockout(subjects)
        d.addCallbacks(self._checked, self._unchecked, (subjects, now))
        return d

    def _checked(self, remaining, subjects, now):
        locked = False
        for subject, seconds in zip(subjects, remaining):
            if seconds > 0:
                self._locked[subject] = now + seconds
                locked = True
        return locked

    def _unchecked(self, failure):
        # Redis is away: the bind needs it to register the session anyway, and
        # will be refused there; do not turn an outage into a guessing window
        # by answering differently here.
        self.log.warn("bind lockout not checked: {error}", error=failure.getErrorMessage())
        return False

    def refused(self, what):
        self.counters["binds_refused_" + what] += 1

    def failed(self, subjects):
        """Count one failed bind against each subject."""
        if not self.enabled:
            return
        security = self.security
        for subject in subjects:
            d = self.store.bind_failed(subject, security.bind_failures,
                                       security.bind_failure_window, security.bind_lockout)
            d.addCallbacks(self._counted, self._not_counted, (subject,))

    def _counted(self, locked_now, subject):
        if not locked_now:
            return
        self._locked[subject] = self.clock.seconds() + self.security.bind_lockout
        self.counters["bind_lockouts"] += 1
        kind, _, name = subject.partition(":")
        self.log.warn("binds {what} {name} locked out for {lockout} s after {n} failures "
                      "within {window} s", what="from" if kind == "ip" else "as", name=name,
                      lockout=self.security.bind_lockout, n=self.security.bind_failures,
                      window=self.security.bind_failure_window)

    def _not_counted(self, failure, subject):
        self.log.warn("failed bind of {subject} not counted: {error}", subject=subject,
                      error=failure.getErrorMessage())

    def succeeded(self, user):
        if self.enabled:
            self.store.bind_succeeded("id:%s" % user.name).addErrback(lambda f: None)
