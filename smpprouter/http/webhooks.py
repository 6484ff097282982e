"""The webhook sender: users' webhook queues (receipts, MOs, clicks) to their HTTP receivers.

Where entries come from: core/inbox.py puts a receipt into the user's webhook
queue (hook:<user>, the stream dlv:{hook:<user>}) when its message named a
notifyurl or the user has a dlr_url, and an MO when the user has an mo_url;
everything else goes to the user's SMPP receivers as before. So a user
chooses webhooks by configuring dlr_url / mo_url (or a REST client by giving
a message its notifyurl), and SMPP by configuring neither. A click on a
smart link (http/smartlinks.py) is queued there only for a user with a
click_url.

What it promises:
- Durable, at least once: an entry leaves Redis (XACK + XDEL) only when its
  receiver answered 2xx, or when it is given up: a 3xx or 4xx other than 408
  and 429 (permanent: logged, counted), a URL the router may not call
  (refused), or retried for the user's retention (webhook_retention, 72 h by
  default, from when it was queued) without success (expired). Anything else
  (5xx, 408, 429, timeouts, refused connections, DNS failures) is retried
  with exponential backoff and full jitter (retry.py).
- In order per receiver: entries go to a lane per (user, scheme, host, port)
  in queue order; a lane has up to [http] webhook_concurrency requests in
  flight (so a receiver may see neighbours within that window overlap; 1
  gives strict order). When one fails the lane stops: after the backoff it
  sends its oldest entry alone, and opens up again only when that one got
  through, so a receiver that was down gets the backlog in order, oldest
  first. A failing receiver holds back only its own lane: the sender keeps
  reading the user's queue for the others (up to MAX_HELD entries held).
- One process at a time: a user's webhook queue is delivered by the process
  holding its lease (store/lease.py: hookl:{hook:<user>}, renewed every
  lease_ttl / 3); another takes over within lease_ttl when the holder dies,
  and reclaims the entries it held after claim_idle (XAUTOCLAIM), as
  core/delivery.py does; held entries have their idle time refreshed.
- An entry whose URL is gone (the config changed since it was queued) moves
  to the user's SMPP queue (enqueued there, then acked here); a smart link's
  click, which SMPP has no form for, is dropped.

Every request is signed and carries a stable event id: signing.py says how a
receiver verifies it. The HTTP client (webclient.py) checks every address a
host resolves to before connecting to it. Bodies are rendered by
notification.py when an entry is read; nothing is formatted or logged per
request on the success path.

On stop, requests in flight are cut and the lease released; undelivered
entries stay pending in Redis, read again at once by this consumer name when
it restarts, or by another process after claim_idle.
"""

import random as _random
from collections import deque

from twisted.internet import defer, task
from twisted.logger import Logger

from ..core.codec import CorruptEntry, decode_entry
from ..core.messages import Click
from ..core.inbox import webhook_queue
from . import signing
from .notification import entry_time, render, webhook_url
from .retry import DELIVERED, PERMANENT, backoff, expired, retry_after, verdict
from .urls import url_problem
from .webclient import Refused, origin

LEASE_TTL = 15.0      # seconds a dead holder keeps a user's lease
MAX_HELD = 10_000     # entries of one user held in memory (waiting, in flight)
BATCH = 100           # entries read per claim
MOVE_RETRY = 5.0      # seconds before a failed move to the SMPP queue is tried again


def _order(entry_id):
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class _Entry:
    __slots__ = ("entry_id", "order", "url", "body", "event", "queued_at")

    def __init__(self, entry_id, url, body, event, queued_at):
        self.entry_id = entry_id
        self.order = _order(entry_id)
        self.url = url
        self.body = body
        self.event = event
        self.queued_at = queued_at


class _Lane:
    """One user's entries for one receiving origin, oldest first."""
    __slots__ = ("key", "waiting", "flying", "failing", "attempts", "timer")

    def __init__(self, key):
        self.key = key
        self.waiting = deque()   # _Entry, by stream order
        self.flying = {}         # entry id -> Deferred of its request
        self.failing = False     # the last answer was a failure: one at a time
        self.attempts = 0        # failures in a row (the backoff's exponent)
        self.timer = None        # the backoff's delayed call

    def put(self, entry):
        """Insert in stream order (an entry retried or reclaimed is older than
        most of what waits, so the scan is short)."""
        waiting = self.waiting
        if not waiting or waiting[-1].order < entry.order:
            waiting.append(entry)
            return
        for i, other in enumerate(waiting):
            if entry.order < other.order:
                waiting.insert(i, entry)
                return
        waiting.append(entry)


class _Hooks:
    """What this process knows of one user's webhook queue."""
    __slots__ = ("name", "queue", "holding", "reading", "again", "more", "held", "lanes",
                 "generation", "timers")

    def __init__(self, name):
        self.name = name
        self.queue = webhook_queue(name)
        self.holding = False    # this process holds the user's lease
        self.reading = False
        self.again = False      # notified while a read was under way
        self.more = False       # the last read came back full
        self.held = {}          # entry id -> _Entry (None: on its way to the SMPP queue)
        self.lanes = {}         # origin -> _Lane
        self.generation = 0     # bumped when the lease is lost: late answers are dropped
        self.timers = []        # delayed reads and moves


class WebhookSender:
    log = Logger()

    def __init__(self, store, config, reactor, consumer, client, *, random=_random.random,
                 lease_ttl=LEASE_TTL, batch=BATCH, max_held=MAX_HELD, claim_idle=None):
        self.store = store
        self.config = config
        self.reactor = reactor
        self.consumer = consumer
        self.client = client
        self.random = random
        self.lease_ttl = lease_ttl
        self.batch = batch
        self.max_held = max_held
        self.claim_idle = config.redis.claim_idle if claim_idle is None else claim_idle
        self.concurrency = config.http.webhook_concurrency
        self.allow = config.http.webhook_allow
        self._users = {}      # webhook queue name -> _Hooks
        self._stopped = False
        self._tick = task.LoopingCall(self.tick)
        self._tick.clock = reactor
        self.counters = dict.fromkeys(("delivered", "permanent", "refused", "expired",
                                       "retried", "moved", "corrupt"), 0)

    # -- lifecycle ----------------------------------------------------------

    def start(self):
        for name in self.config.users:
            hooks = self._users[webhook_queue(name)] = _Hooks(name)
            # Fails while Redis is down; the store subscribes again when it is back.
            self.store.subscribe(hooks.queue, self._notified).addErrback(
                self._warn, "notifications for {queue} not subscribed yet: {error}",
                hooks.queue)
        self._tick.start(self.lease_ttl / 3, now=True)

    def stop(self):
        """Deferred: requests cut, leases released; what is undelivered stays in Redis."""
        self._stopped = True
        if self._tick.running:
            self._tick.stop()
        releases = []
        for hooks in self._users.values():
            self.store.unsubscribe(hooks.queue)
            if hooks.holding:
                releases.append(self.store.release(hooks.queue, self.consumer).addErrback(
                    self._warn, "lease of {queue} not released: {error}", hooks.queue))
            self._let_go(hooks)
        d = defer.DeferredList(releases)
        d.addCallback(lambda _: self.client.close())
        return d

    def tick(self):
        """Take or renew each user's lease; where held, keep what we hold ours
        and take over what a dead process left (idle beyond claim_idle)."""
        ttl_ms = int(self.lease_ttl * 1000)
        for hooks in self._users.values():
            self.store.lease(hooks.queue, self.consumer, ttl_ms).addCallbacks(
                self._leased, self._warn, (hooks,), None,
                ("lease of {queue} not renewed: {error}", hooks.queue))

    def _leased(self, holding, hooks):
        if self._stopped:
            return
        if not holding:
            if hooks.holding:
                self.log.warn("lost the lease of {queue}: another process delivers it now",
                              queue=hooks.queue)
                self._let_go(hooks)
            return
        if not hooks.holding:
            hooks.holding = True
            d = self.store.pending(hooks.queue, self.consumer, self.max_held)
            d.addCallback(self._fill_and_read, hooks, hooks.generation)
            d.addErrback(self._read_failed, hooks, hooks.generation)
        elif hooks.held:
            self.store.touch(hooks.queue, self.consumer, list(hooks.held)).addErrback(
                self._warn, "held webhooks of {queue} not refreshed: {error}", hooks.queue)
        d = self.store.reclaim(hooks.queue, self.consumer, int(self.claim_idle * 1000),
                               self.batch)
        d.addCallback(self._reclaimed, hooks, hooks.generation)
        d.addErrback(self._warn, "webhooks of {queue} not reclaimed: {error}", hooks.queue)

    def _let_go(self, hooks):
        """Forget everything held: the entries stay pending in Redis."""
        hooks.generation += 1
        hooks.holding = hooks.reading = hooks.again = hooks.more = False
        for lane in hooks.lanes.values():
            if lane.timer is not None and lane.timer.active():
                lane.timer.cancel()
            for d in list(lane.flying.values()):
                d.cancel()
        for call in hooks.timers:
            if call.active():
                call.cancel()
        hooks.timers = []
        hooks.lanes.clear()
        hooks.held.clear()

    def _warn(self, failure, text, queue):
        self.log.warn(text, queue=queue, error=failure.getErrorMessage())

    # -- reading the queue --------------------------------------------------

    def _notified(self, queue):
        hooks = self._users.get(queue)
        if hooks is not None and hooks.holding:
            self._read(hooks)

    def _ready(self, hooks):
        """Entries waiting in lanes that are sending (a failing lane's backlog
        does not stop the reading)."""
        return sum(len(lane.waiting) for lane in hooks.lanes.values() if not lane.failing)

    def _read(self, hooks):
        if not hooks.holding or self._stopped:
            return
        if hooks.reading:
            hooks.again = True
            return
        if len(hooks.held) >= self.max_held or self._ready(hooks) >= self.batch:
            hooks.more = True   # read again when they drain
            return
        hooks.reading = True
        hooks.again = False
        generation = hooks.generation
        d = self.store.claim(hooks.queue, self.consumer, self.batch)
        d.addCallback(self._claimed, hooks, generation)
        d.addErrback(self._read_failed, hooks, generation)

    def _claimed(self, deliveries, hooks, generation):
        if generation != hooks.generation:
            return   # the lease went meanwhile: they stay pending under our name
        hooks.reading = False
        hooks.more = len(deliveries) >= self.batch
        self._fill(hooks, deliveries)
        if hooks.again or hooks.more:
            self._read(hooks)

    def _fill_and_read(self, deliveries, hooks, generation):
        if generation == hooks.generation:
            self._fill(hooks, deliveries)
            self._read(hooks)

    def _reclaimed(self, deliveries, hooks, generation):
        if deliveries and generation == hooks.generation:
            self.log.info("took over {n} pending webhooks of {queue}", n=len(deliveries),
                          queue=hooks.queue)
            self._fill(hooks, deliveries)

    def _read_failed(self, failure, hooks, generation):
        if generation != hooks.generation:
            return
        hooks.reading = False
        self.log.warn("webhooks of {queue} could not be read: {error}", queue=hooks.queue,
                      error=failure.getErrorMessage())
        hooks.timers.append(self.reactor.callLater(1.0, self._read, hooks))

    def _fill(self, hooks, deliveries):
        touched = {}
        held = hooks.held
        for delivery in deliveries:
            if delivery.entry_id in held:   # a reclaim may return what we hold
                continue
            entry = self._prepare(hooks, delivery)
            if entry is None:
                continue
            key = origin(entry.url)
            lane = hooks.lanes.get(key)
            if lane is None:
                lane = hooks.lanes[key] = _Lane(key)
            lane.put(entry)
            held[entry.entry_id] = entry
            touched[key] = lane
        for lane in touched.values():
            self._pump(hooks, lane)

    def _prepare(self, hooks, delivery):
        """The entry's request, or None when it does not go out as one."""
        entry_id = delivery.entry_id
        try:
            value = decode_entry(delivery.payload)
        except CorruptEntry:
            # Only the router writes the queue; an entry nobody can read would
            # hold the user's lane forever.
            self.log.failure("undecodable webhook entry {entry} of {queue} dropped",
                             entry=entry_id, queue=hooks.queue)
            self.counters["corrupt"] += 1
            self._ack(hooks, entry_id)
            return None
        account = self.config.users.get(hooks.name)
        url = webhook_url(account, value) if account is not None else ""
        if not url:
            if type(value) is Click:   # no SMPP form: a click nobody asks for is dropped
                self._refused(hooks, entry_id, "the user has no click_url (any more)")
                return None
            self._to_smpp(hooks, delivery, hooks.generation)
            return None
        problem = url_problem(url, self.allow)
        if problem is not None:
            self._refused(hooks, entry_id, "its URL %s" % problem)
            return None
        queued_at = entry_time(entry_id)
        event = signing.event_id(hooks.name, entry_id)
        return _Entry(entry_id, url, render(hooks.name, value, event, queued_at), event,
                      queued_at)

    def _to_smpp(self, hooks, delivery, generation):
        """The user's webhook URL is gone: its SMPP receivers get it instead."""
        if generation != hooks.generation:
            return
        hooks.held[delivery.entry_id] = None
        d = self.store.enqueue(hooks.name, delivery.payload)
        d.addCallbacks(self._moved, self._not_moved, (hooks, delivery.entry_id), None,
                       (hooks, delivery, generation))

    def _moved(self, _, hooks, entry_id):
        self.counters["moved"] += 1
        self._ack(hooks, entry_id)

    def _not_moved(self, failure, hooks, delivery, generation):
        if generation != hooks.generation:
            return
        self.log.warn("webhook {entry} of {queue} has no URL and could not move to the "
                      "SMPP queue: {error}", entry=delivery.entry_id, queue=hooks.queue,
                      error=failure.getErrorMessage())
        hooks.timers = [c for c in hooks.timers if c.active()]
        hooks.timers.append(self.reactor.callLater(MOVE_RETRY, self._to_smpp, hooks,
                                                   delivery, generation))

    # -- sending ------------------------------------------------------------

    def _pump(self, hooks, lane):
        waiting = lane.waiting
        flying = lane.flying
        while waiting and lane.timer is None and \
                len(flying) < (1 if lane.failing else self.concurrency):
            self._send(hooks, lane, waiting.popleft())
        if not waiting and not flying and lane.timer is None \
                and hooks.lanes.get(lane.key) is lane:
            del hooks.lanes[lane.key]

    def _send(self, hooks, lane, entry):
        account = self.config.users.get(hooks.name)
        secret = account.webhook_secret.encode() if account is not None else b""
        timestamp = "%d" % self.reactor.seconds()
        headers = signing.headers(entry.event, timestamp, entry.body, secret)
        d = self.client.post(entry.url, headers, entry.body)
        lane.flying[entry.entry_id] = d
        args = (hooks, lane, entry, hooks.generation)
        d.addCallbacks(self._answered, self._failed, args, None, args)

    def _answered(self, answer, hooks, lane, entry, generation):
        lane.flying.pop(entry.entry_id, None)
        if generation != hooks.generation:
            return
        code, after = answer
        outcome = verdict(code)
        if outcome is DELIVERED:
            self.counters["delivered"] += 1
            if lane.failing:
                self.log.info("webhooks of {queue} to {host} get through again",
                              queue=hooks.queue, host=lane.key[1])
                lane.failing = False
            lane.attempts = 0
            self._ack(hooks, entry.entry_id)
        elif outcome is PERMANENT:
            self.counters["permanent"] += 1
            self.log.warn("webhook {event} refused by {url} with HTTP {code}: dropped",
                          event=entry.event, url=entry.url, code=code)
            self._ack(hooks, entry.entry_id)
        else:
            self._retry(hooks, lane, entry, "HTTP %d" % code, retry_after(after))
        self._after(hooks, lane)

    def _failed(self, failure, hooks, lane, entry, generation):
        lane.flying.pop(entry.entry_id, None)
        if generation != hooks.generation:
            return   # cut by stop or a lost lease: it stays pending in Redis
        if failure.check(Refused):
            self._refused(hooks, entry.entry_id, failure.getErrorMessage())
        else:
            self._retry(hooks, lane, entry, failure.getErrorMessage() or failure.type.__name__,
                        0.0)
        self._after(hooks, lane)

    def _after(self, hooks, lane):
        self._pump(hooks, lane)
        if hooks.more and not hooks.reading and self._ready(hooks) < self.batch // 2:
            self._read(hooks)

    def _retry(self, hooks, lane, entry, why, after):
        account = self.config.users.get(hooks.name)
        retention = (account.webhook_retention if account is not None else 0) \
            or self.config.http.webhook_retention
        if expired(entry.queued_at, self.reactor.seconds(), retention):
            self.counters["expired"] += 1
            self.log.warn("webhook {event} to {url} dropped after {retention} s of retries: "
                          "{why}", event=entry.event, url=entry.url, retention=retention,
                          why=why)
            self._ack(hooks, entry.entry_id)
            return
        self.counters["retried"] += 1
        lane.put(entry)
        if not lane.failing:
            lane.failing = True
            self.log.warn("webhooks of {queue} to {host} fail ({why}): retrying with "
                          "backoff, in order", queue=hooks.queue, host=lane.key[1], why=why)
        if lane.timer is None:
            delay = max(backoff(lane.attempts, self.random), after)
            lane.attempts += 1
            lane.timer = self.reactor.callLater(delay, self._resume, hooks, lane,
                                                hooks.generation)

    def _resume(self, hooks, lane, generation):
        lane.timer = None
        if generation == hooks.generation:
            self._pump(hooks, lane)

    def _refused(self, hooks, entry_id, why):
        self.counters["refused"] += 1
        self.log.warn("webhook {entry} of {queue} not sent: {why}", entry=entry_id,
                      queue=hooks.queue, why=why)
        self._ack(hooks, entry_id)

    def _ack(self, hooks, entry_id):
        hooks.held.pop(entry_id, None)
        self.store.ack(hooks.queue, entry_id).addErrback(
            self._warn, "ack of a webhook of {queue} failed (it may be sent again): {error}",
            hooks.queue)
