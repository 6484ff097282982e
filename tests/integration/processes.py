"""Several real router processes, as in production, sharing one real Redis.

RouterProcesses(redis, workers=2, ...) writes a config and a routing table
into a temp dir and starts a SimulatedSMSC in the test process; each worker
is then a `twistd --nodaemon smpprouter --worker I` child process with its
OWN listening port (so a test chooses which process an ESME binds to), all
sharing `redis` (a tests.redis_server.RedisServer the test class owns, so a
test may stop and restart it).

Each worker's output is read line by line: start_worker(i) returns once the
worker printed "listener smpp on" and its connector is bound upstream
("bind up as TRX", once per configured bind); tests wait on lines, never on
time. The output of every run of a worker is kept (and written to
worker-I.log in the temp dir) for failure messages.

    h = RouterProcesses(redis, workers=2)
    await h.start()                      # all workers, in parallel
    rx = await h.bind(1, "receiver")     # an ESME on worker 1
    await h.kill9(0); await h.start_worker(0)
    code, log = await h.terminate(1)     # SIGTERM, wait for the exit
    await h.stop()                       # cleanup: kills whatever still runs
"""

import os
import shutil
import sys
import tempfile
import time

from twisted.internet import defer, error, protocol, reactor

from bench.esme import connect
from bench.smsc import SimulatedSMSC
from smpprouter.store.embedded import free_port

from .harness import DEFAULT_ROUTES, PASSWORDS, write_config

START_TIMEOUT = 30.0     # a worker starts in ~1 s; a loaded CI machine may need more
EXIT_TIMEOUT = 30.0
LOG_TAIL = 40            # lines of a worker's log quoted in failure messages
TWISTD = os.path.join(os.path.dirname(sys.executable), "twistd")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

LISTENING = "listener smpp on"
BOUND = "bind up as TRX"


class WorkerFailed(AssertionError):
    """A worker did not do what was waited for (it exited, or the deadline passed)."""


class Worker(protocol.ProcessProtocol):
    """One run of one worker process: its output as lines, its end."""

    def __init__(self, index, port, logfile):
        self.index = index
        self.port = port
        self.lines = []
        self.logfile = logfile
        self.started_at = time.monotonic()
        self.ended_at = None
        self.pid = None
        self.exit_code = None    # set at the end; None if ended by a signal
        self.exit_signal = None
        self.ended = defer.Deferred()   # fires with self once the process is gone
        self._partial = b""
        self._waiters = []              # (predicate, Deferred)

    def makeConnection(self, transport):
        self.pid = transport.pid     # kept: transport.pid is None once it ended
        super().makeConnection(transport)

    @property
    def running(self):
        return not self.ended.called

    # -- output

    def outReceived(self, data):
        self._received(data)

    def errReceived(self, data):
        self._received(data)

    def _received(self, data):
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        if not lines:
            return
        text = [line.decode("utf-8", "replace").rstrip("\r") for line in lines]
        self.lines.extend(text)
        with open(self.logfile, "a") as f:
            f.write("".join(line + "\n" for line in text))
        self._check()

    def _check(self):
        still = []
        for predicate, d in self._waiters:
            if d.called:
                continue
            if predicate(self.lines):
                d.callback(self)
            else:
                still.append((predicate, d))
        self._waiters = still

    def count(self, text):
        return sum(text in line for line in self.lines)

    def wait(self, predicate, what, timeout):
        """Deferred(self) once predicate(lines) is true; fails if the process
        ends first or the deadline passes (with the log in the message)."""
        if predicate(self.lines):
            return defer.succeed(self)
        if not self.running:
            return defer.fail(WorkerFailed("worker %d ended before %s:\n%s"
                                           % (self.index, what, self.tail())))
        d = defer.Deferred()
        self._waiters.append((predicate, d))

        def expired():
            if not d.called:
                d.errback(WorkerFailed("worker %d: no %s within %.0f s:\n%s"
                                       % (self.index, what, timeout, self.tail())))
        call = reactor.callLater(timeout, expired)

        def done(result):
            if call.active():
                call.cancel()
            return result
        return d.addBoth(done)

    def wait_line(self, text, count=1, timeout=START_TIMEOUT):
        return self.wait(lambda lines: sum(text in line for line in lines) >= count,
                         "%r (x%d) in its log" % (text, count), timeout)

    def tail(self, lines=LOG_TAIL):
        out = self.lines[-lines:]
        if self._partial:
            out = out + [self._partial.decode("utf-8", "replace")]
        return "\n".join("    " + line for line in out) or "    (no output)"

    @property
    def log(self):
        return "\n".join(self.lines)

    # -- the end

    def processEnded(self, reason):
        if self._partial:
            self._received(b"\n")
        self.ended_at = time.monotonic()
        value = reason.value
        self.exit_code = getattr(value, "exitCode", None)
        self.exit_signal = getattr(value, "signal", None)
        waiters, self._waiters = self._waiters, []
        for _, d in waiters:
            if not d.called:
                d.errback(WorkerFailed("worker %d ended (code %s, signal %s) while waiting:\n%s"
                                       % (self.index, self.exit_code, self.exit_signal,
                                          self.tail())))
        self.ended.callback(self)


class _TrackedReactor:
    """The reactor, with every callLater remembered: the SimulatedSMSC's
    delayed work (retried deliveries, delayed answers) is cancelled at
    cleanup instead of outliving the test."""

    def __init__(self, reactor):
        self._reactor = reactor
        self.calls = []

    def callLater(self, delay, f, *args, **kwargs):
        self.calls = [c for c in self.calls if c.active()]
        call = self._reactor.callLater(delay, f, *args, **kwargs)
        self.calls.append(call)
        return call

    def cancel_all(self):
        for call in self.calls:
            if call.active():
                call.cancel()
        self.calls = []

    def __getattr__(self, name):
        return getattr(self._reactor, name)


class RouterProcesses:
    def __init__(self, redis, *, workers=2, users=None, routes=DEFAULT_ROUTES, connector="",
                 smpp="", redis_config="claim_idle = 1", smsc=None, extra="", binds=1):
        self.redis = redis
        self.count = workers
        self.binds = binds
        self.dir = tempfile.mkdtemp(prefix="smpprouter-procs-")
        # a tests.redis_cluster.RedisCluster names itself (redis+cluster://...)
        self.url = getattr(redis, "url", None) or "redis://%s:%d/0" % (redis.host, redis.port)
        self.smsc_reactor = _TrackedReactor(reactor)
        self.smsc = SimulatedSMSC(reactor=self.smsc_reactor, **(smsc or {}))
        self.smsc.listen(0)
        self.smsc_port = self.smsc.port.getHost().port
        self.ports = [free_port() for _ in range(workers)]
        self.workers = {}        # index -> the current (or last) Worker
        self.runs = {}           # index -> every Worker run, oldest first
        self.clients = []
        self.config_path, self.routes_path = write_config(
            self.dir, self.url, self.smsc_port, routes=routes,
            users=users or {"esme1": "", "esme2": ""},
            connector="binds = %d\n%s" % (binds, connector), smpp=smpp, redis=redis_config,
            extra=extra)

    # -- processes

    def port(self, i):
        return self.ports[i]

    def worker(self, i):
        return self.workers[i]

    def log(self, i):
        """The output of every run of worker i, oldest first."""
        return "\n".join(w.log for w in self.runs.get(i, ()))

    def logs(self):
        return "\n".join(self.log(i) for i in sorted(self.runs))

    def describe(self, i=None):
        """Log tails for a failure message."""
        indices = sorted(self.workers) if i is None else [i]
        return "\n".join("--- worker %d (pid %s, %s):\n%s" % (
            j, self.workers[j].pid, "running" if self.workers[j].running else "ended",
            self.workers[j].tail()) for j in indices) + "\n(full logs in %s)" % self.dir

    def args(self, i):
        return [TWISTD, "--nodaemon", "--logfile", "-", "--pidfile", "", "smpprouter",
                "--config", self.config_path, "--worker", str(i), "--redis-url", self.url,
                "--listen", "tcp:%d:interface=127.0.0.1" % self.ports[i]]

    async def start_worker(self, i, timeout=START_TIMEOUT):
        """Start worker i (again, after kill9/terminate: same index, same port) and
        wait until it listens and its connector is bound upstream."""
        current = self.workers.get(i)
        if current is not None and current.running:
            raise RuntimeError("worker %d is already running (pid %s)" % (i, current.pid))
        worker = Worker(i, self.ports[i], os.path.join(self.dir, "worker-%d.log" % i))
        with open(worker.logfile, "a") as f:
            f.write("=== %s\n" % " ".join(repr(a) if not a else a for a in self.args(i)))
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        reactor.spawnProcess(worker, TWISTD, self.args(i), env=env, path=self.dir,
                             childFDs={0: "w", 1: "r", 2: "r"})
        worker.transport.closeStdin()
        self.workers[i] = worker
        self.runs.setdefault(i, []).append(worker)
        await defer.gatherResults([
            worker.wait_line("%s 127.0.0.1:%d" % (LISTENING, self.ports[i]), 1, timeout),
            worker.wait_line(BOUND, self.binds, timeout)], consumeErrors=True).addErrback(
                lambda f: f.value.subFailure)
        return worker

    async def start(self, *indices):
        """Start these workers (default: all) in parallel."""
        indices = indices or range(self.count)
        await defer.gatherResults(
            [defer.Deferred.fromCoroutine(self.start_worker(i)) for i in indices],
            consumeErrors=True).addErrback(lambda f: f.value.subFailure)
        return self

    async def _signal(self, i, name, timeout):
        worker = self.workers[i]
        if worker.running:
            try:
                worker.transport.signalProcess(name)
            except error.ProcessExitedAlready:
                pass
        return await self._ended(worker, timeout)

    async def _ended(self, worker, timeout):
        if not worker.running:
            return worker
        d = defer.Deferred()

        def fire(result):
            if not d.called:
                d.callback(worker)
            return result
        worker.ended.addBoth(fire)

        def expired():
            if not d.called:
                d.errback(WorkerFailed("worker %d (pid %s) still running after %.0f s:\n%s"
                                       % (worker.index, worker.pid, timeout, worker.tail())))
        call = reactor.callLater(timeout, expired)
        try:
            return await d
        finally:
            if call.active():
                call.cancel()

    async def kill9(self, i, timeout=EXIT_TIMEOUT):
        """SIGKILL worker i and wait for its exit."""
        return await self._signal(i, "KILL", timeout)

    async def terminate(self, i, timeout=EXIT_TIMEOUT):
        """SIGTERM worker i, wait for the exit: (exit code or None if killed by a
        signal, seconds from the signal to the exit, its log)."""
        worker = self.workers[i]
        signalled = time.monotonic()
        await self._signal(i, "TERM", timeout)
        return worker.exit_code, worker.ended_at - signalled, worker.log

    # -- ESMEs

    async def bind(self, i, mode="transceiver", user="esme1", password=None, **kwargs):
        """An ESME bound on worker i (connect() raises BindFailed on a refusal)."""
        client = await connect("127.0.0.1", self.ports[i], mode, user,
                               PASSWORDS[user] if password is None else password, **kwargs)
        self.clients.append(client)
        return client

    async def connect(self, i, **kwargs):
        client = await connect("127.0.0.1", self.ports[i], **kwargs)
        self.clients.append(client)
        return client

    # -- Redis

    def xlen(self, user="esme1"):
        return self.redis.command("XLEN", "dlv:{%s}" % user)

    def pending_count(self, user="esme1"):
        """Entries read by some consumer and not acknowledged (XPENDING summary)."""
        try:
            reply = self.redis.command("XPENDING", "dlv:{%s}" % user, "dlv")
        except Exception:    # no stream or no group yet
            return 0
        return reply[0] if reply else 0

    # -- cleanup

    async def stop(self):
        for client in self.clients:
            if client.connected:
                client.abort()
                await client.wait_closed()
        self.smsc.retry_deliveries = False   # what the kills below cut off stays cut off
        for i, worker in list(self.workers.items()):
            if worker.running:
                await self.kill9(i)
        await defer.maybeDeferred(self.smsc.close)
        self.smsc_reactor.cancel_all()
        if not os.environ.get("SMPPROUTER_KEEP_LOGS"):
            shutil.rmtree(self.dir, ignore_errors=True)


__all__ = ["RouterProcesses", "Worker", "WorkerFailed"]
