"""Who may bind, and how fast each user may send: the shared session registry.

A user's limits hold across every router process sharing the Redis: its
bound sessions are registered in sess:{user} (max_binds is checked there at
bind time), and each process learns from a heartbeat how many of the user's
sessions the others hold, so it can police its own share of the user's
throughput with no Redis call per message. Throughput is per second as the
seeds state it: a user may send a second's worth at once (its share of it in
each process), then at the rate (throttle.py).
"""

from twisted.internet import defer, task, threads
from twisted.logger import Logger

from ..policy import accounts
from ..protocol.gateway import BindResult
from ..smpp.session import Mode
from ..smpp.status import Status
from ..throttle import USER_BURST_SECONDS, TokenBucket
from .guard import BindGuard, allowed, source_address

# A bound session stays registered in Redis (for max_binds across processes)
# this long unless refreshed; the heartbeat refreshes it three times as often.
SESSION_TTL = 30.0
# The end of a receiver-capable session's member of sess:{user} (OPEN_SESSION).
RECEIVER_MARK = ":rx"
_RECEIVING = (Mode.RX, Mode.TRX)
PROCESS = "process"   # a user's bind_scope limiting each process on its own


class Admission:
    log = Logger()

    def __init__(self, config, store, clock, password_cache, instance, deliveries,
                 counters=None):
        self.config = config
        self.store = store
        self.clock = clock
        self.passwords = password_cache
        self.deliveries = deliveries
        self.sessions = {}       # user -> set of bound sessions here
        self._buckets = {}       # user -> TokenBucket
        self._others = {}        # user -> sessions in other processes, at the last heartbeat
        self._expiring = {}      # user with an `expires` -> its DelayedCall, while bound here
        self._instance = instance
        self._session_count = 0
        self._heartbeat = task.LoopingCall(self.heartbeat)
        self._heartbeat.clock = clock
        self.guard = BindGuard(config.security, store, clock,
                               counters if counters is not None else {})

    # -- binds ----------------------------------------------------------------

    def authenticate(self, system_id, password, mode, session):
        """Where the bind comes from first (guard.py), then the password."""
        user = self.config.users.get(system_id)
        address = source_address(getattr(session, "peer_host", None))
        guard = self.guard
        if user is not None and not allowed(address, user.allow_from):
            guard.refused("origin")
            guard.failed(guard.subjects(address, None))
            self.log.warn("{peer}: bind as {user} refused: {address} is not in its "
                          "allow_from", peer=session.peer, user=user.name,
                          address=address or "a unix socket")
            return defer.succeed(BindResult(Status.ESME_RBINDFAIL, logged=True))
        if user is not None and user.tls_subject and (
                getattr(session, "tls_peer", None) != user.tls_subject):
            guard.refused("certificate")
            guard.failed(guard.subjects(address, None))
            self.log.warn("{peer}: bind as {user} refused: its certificate is required "
                          "(subject {want!r}), the session has {got!r}", peer=session.peer,
                          user=user.name, want=user.tls_subject,
                          got=getattr(session, "tls_peer", None))
            return defer.succeed(BindResult(Status.ESME_RBINDFAIL, logged=True))
        subjects = guard.subjects(address, user)
        d = guard.locked(subjects)
        d.addCallback(self._verify, password, user, subjects, mode, session)
        return d

    def _verify(self, locked, password, user, subjects, mode, session):
        if locked:
            self.guard.refused("locked")
            return BindResult(Status.ESME_RBINDFAIL, logged=True)   # logged at the lockout
        stored = user.password if user is not None else None
        answer = self.passwords.peek(password, stored)
        if answer is None:
            # scrypt takes tens of ms: keep it off the reactor.
            d = threads.deferToThread(self.passwords.verify, password, stored)
        else:
            d = defer.succeed(answer)
        return d.addCallback(self._authenticated, user, subjects, mode, session)

    def _authenticated(self, ok, user, subjects, mode, session):
        if user is None:
            self.guard.failed(subjects)   # the source IP's only: no such system_id
            return BindResult(Status.ESME_RINVSYSID)
        if not ok:
            self.guard.failed(subjects)
            return BindResult(Status.ESME_RINVPASWD)
        self.guard.succeeded(user)
        refused = self._account_refusal(user, mode, session)
        if refused is not None:
            return refused
        if len(self.sessions.get(user.name, ())) >= user.max_binds:
            return BindResult(Status.ESME_RBINDFAIL)
        self._session_count += 1
        # A receiver-capable session is marked in its member, so max_receivers
        # is counted by the same script that counts max_binds.
        receiving = mode in _RECEIVING
        member = "%s/%d%s" % (self._instance, self._session_count,
                              RECEIVER_MARK if receiving else "")
        scope = self._instance + "/" if user.bind_scope == PROCESS else ""
        d = self.store.open_session(user.name, member, user.max_binds, SESSION_TTL,
                                    user.max_receivers, scope)
        d.addCallbacks(self._registered, self._not_registered, (user, member, receiving),
                       None, (user,))
        return d

    def _account_refusal(self, user, mode, session):
        """A BindResult refusing a bind its account does not allow (accounts.py), or
        None. After the password: nothing about an account is told to a guesser."""
        why = accounts.refusal(user, accounts.SMPP, self.clock.seconds())
        if why is None:
            system_type = getattr(session, "system_type", "")
            if accounts.system_type_ok(user, system_type):
                return None
            self.log.info("{peer}: bind as {user} refused: system_type {got!r}, its account "
                          "requires {want!r}", peer=session.peer, user=user.name,
                          got=system_type, want=user.system_type)
            return BindResult(Status.ESME_RINVSYSTYP, logged=True)
        if why == accounts.EXPIRED:
            self.log.info("{peer}: bind as {user} refused: its account expired",
                          peer=session.peer, user=user.name)
            return BindResult(Status.ESME_RBINDFAIL, logged=True)
        self.log.info("{peer}: bind as {user} refused: its account has no SMPP access",
                      peer=session.peer, user=user.name)
        return BindResult(Status.ESME_RINVSYSID, logged=True)

    def _registered(self, admitted, user, member, receiving):
        if not admitted:   # max_binds or max_receivers reached (in its bind_scope)
            if receiving and user.max_receivers:
                self.log.info("bind of {user} refused: at max_binds ({binds}) or "
                              "max_receivers ({receivers}) in its {scope}", user=user.name,
                              binds=user.max_binds, receivers=user.max_receivers,
                              scope=user.bind_scope)
                return BindResult(Status.ESME_RBINDFAIL, logged=True)
            return BindResult(Status.ESME_RBINDFAIL)
        return BindResult(Status.ESME_ROK, user.name, user.window, user.message_id, member,
                          user.window_policy)

    def _not_registered(self, failure, user):
        self.log.error("bind of {user} refused, the session registry is unreachable: {error}",
                       user=user.name, error=failure.getErrorMessage())
        return BindResult(Status.ESME_RSYSERR)

    def session_bound(self, session):
        self.sessions.setdefault(session.user, set()).add(session)
        self._share(session.user)
        if session.receiving:
            self.deliveries.attach(session)
        user = self.config.users.get(session.user)
        if user is not None and user.expires and session.user not in self._expiring:
            self._expiring[session.user] = self.clock.callLater(
                max(0.0, user.expires - self.clock.seconds()), self._expire, session.user)

    def _expire(self, name):
        """The account expired: its sessions here unbind (what is in flight is
        answered first); new binds are refused from now on."""
        del self._expiring[name]
        sessions = self.sessions.get(name, ())
        self.log.info("account {user} expired: unbinding its {n} sessions here", user=name,
                      n=len(sessions))
        for session in list(sessions):
            defer.Deferred.fromCoroutine(session.shutdown()).addErrback(
                lambda f: self.log.failure("closing a session of {user}", f, user=name))

    def session_closed(self, session):
        sessions = self.sessions.get(session.user)
        if sessions is not None:
            sessions.discard(session)
            if not sessions:
                del self.sessions[session.user]
        if session.session_id:
            self.store.close_session(session.user, session.session_id).addErrback(
                lambda f: None)   # it lapses after SESSION_TTL anyway
        self._share(session.user)
        self.deliveries.detach(session)
        if session.user not in self.sessions:
            timer = self._expiring.pop(session.user, None)
            if timer is not None and timer.active():
                timer.cancel()

    # -- throughput -----------------------------------------------------------

    def allow(self, user) -> bool:
        """Take one message from the user's throughput allowance."""
        bucket = self._buckets.get(user.name) or self._bucket(user)
        return bucket.take(self.clock.seconds())

    def _bucket(self, user):
        # One second's worth at once, as the seeds state the limit (throttle.py).
        bucket = self._buckets[user.name] = TokenBucket(user.throughput, self.clock.seconds(),
                                                        burst_seconds=USER_BURST_SECONDS)
        self._share(user.name)
        return bucket

    # -- one user, several processes ------------------------------------------

    def start(self):
        self._heartbeat.start(SESSION_TTL / 3, now=False)

    def stop(self):
        if self._heartbeat.running:
            self._heartbeat.stop()
        for timer in self._expiring.values():
            if timer.active():
                timer.cancel()
        self._expiring.clear()

    def heartbeat(self):
        """Keep our sessions registered; learn how many each user has elsewhere."""
        for name, sessions in list(self.sessions.items()):
            members = [s.session_id for s in sessions if s.session_id]
            d = self.store.refresh_sessions(name, members, SESSION_TTL)
            d.addCallbacks(self._counted, self._not_counted, (name, len(members)), None,
                           (name,))

    def _counted(self, total, name, local):
        self._others[name] = max(0, total - local)
        self._share(name)

    def _not_counted(self, failure, name):
        self.log.warn("sessions of {user} not refreshed: {error}", user=name,
                      error=failure.getErrorMessage())

    def _share(self, name):
        """This process's part of the user's throughput: its share of the user's
        sessions, so the limit holds across processes with no Redis call per message."""
        bucket = self._buckets.get(name)
        user = self.config.users.get(name)
        if bucket is None or user is None:
            return
        local = len(self.sessions.get(name, ()))
        if local and user.throughput:
            # bind_scope "process": each process gives the user all of it
            others = self._others.get(name, 0) if user.bind_scope != PROCESS else 0
            bucket.set_rate(user.throughput * local / (local + others))
