"""`smpprouter run --workers N`: several router processes as one router.

Each worker is a `twistd smpprouter --worker I` process; they share the
listening ports (SO_REUSEPORT) and one Redis. The supervisor starts the
embedded Redis when none is configured (one for all workers, not one each),
forwards SIGHUP (reload) and SIGTERM/SIGINT (graceful stop) to every worker,
and starts a worker again if it dies: a router that lost a process keeps
serving with the others, and the restarted one takes back its pending
deliveries under the same consumer name.
"""

import os
import signal
import sys

from twisted.internet import defer, protocol, task
from twisted.logger import Logger

from .config import load_config
from .service import load_routes
from .store.embedded import EmbeddedRedis

RESTART_DELAY = 1.0
log = Logger()


class _Worker(protocol.ProcessProtocol):
    def __init__(self, supervisor, index):
        self.supervisor = supervisor
        self.index = index
        self.ended = defer.Deferred()

    def processEnded(self, reason):
        self.supervisor.ended(self, reason.value)
        self.ended.callback(None)


class Supervisor:
    def __init__(self, reactor, config_path, workers, redis_url=None, listen=None,
                 twistd=None, http_listen=None, log_format=None):
        self.reactor = reactor
        self.config_path = config_path
        self.count = workers
        self.redis_url = redis_url
        self.listen = listen
        self.http_listen = http_listen
        self.log_format = log_format   # None: each worker follows the config's [log]
        self.twistd = twistd or os.path.join(os.path.dirname(sys.executable), "twistd")
        self.workers = {}
        self.stopping = False
        self.embedded = None
        self.done = defer.Deferred()

    async def run(self):
        overrides = {"redis_url": self.redis_url, "smpp_listen": self.listen,
                     "http_listen": self.http_listen}
        config = load_config(self.config_path, overrides)
        load_routes(config)   # a broken table stops us here, not in N workers
        os.makedirs(config.router.var_dir, exist_ok=True)
        url = self.redis_url or config.redis.url
        if not url and config.redis.embedded:   # (sentinels name theirs)
            self.embedded = EmbeddedRedis(config.router.var_dir)
            host, port = await self.embedded.startService()
            url = "redis://%s:%d/0" % (host, port)
            log.info("embedded Redis for {n} worker(s) on {host}:{port}", n=self.count,
                     host=host, port=port)
        self.url = url
        self.var_dir = config.router.var_dir
        with open(config.router.pid_file, "w") as f:
            f.write("%d\n" % os.getpid())
        self.pid_file = config.router.pid_file
        # SIGTERM and SIGINT are the reactor's: they stop it, and this trigger
        # holds the shutdown until every worker has stopped gracefully (a
        # handler of our own could be replaced by the reactor's at start-up).
        self.reactor.addSystemEventTrigger("before", "shutdown", self.stop)
        signal.signal(signal.SIGHUP, lambda *_: self.reactor.callFromThread(self.forward,
                                                                            signal.SIGHUP))
        for index in range(self.count):
            self.spawn(index)
        await self.done

    def spawn(self, index):
        args = [self.twistd, "--nodaemon", "--logfile", "-", "--pidfile",
                os.path.join(self.var_dir, "smpprouter-%d.pid" % index),
                "smpprouter", "--config", self.config_path, "--worker", str(index),
                "--redis-url", self.url]
        if self.listen:
            args += ["--listen", self.listen]
        if self.http_listen:
            args += ["--http-listen", self.http_listen]
        if self.log_format:
            args += ["--log-format", self.log_format]
        worker = _Worker(self, index)
        self.workers[index] = worker
        self.reactor.spawnProcess(worker, args[0], args, env=os.environ,
                                  childFDs={0: "w", 1: 1, 2: 2})
        log.info("worker {index} started (pid {pid})", index=index, pid=worker.transport.pid)

    def ended(self, worker, reason):
        if self.workers.get(worker.index) is worker:
            del self.workers[worker.index]
        if self.stopping:
            if not self.workers:
                self.reactor.callLater(0, self._finish)
            return
        log.warn("worker {index} ended ({reason}); starting it again in {delay} s",
                 index=worker.index, reason=reason, delay=RESTART_DELAY)
        self.reactor.callLater(RESTART_DELAY, self._respawn, worker.index)

    def _respawn(self, index):
        if not self.stopping and index not in self.workers:
            self.spawn(index)

    def forward(self, sig):
        for worker in list(self.workers.values()):
            try:
                worker.transport.signalProcess(sig)
            except Exception:   # already gone
                pass

    def stop(self):
        """Stop every worker gracefully; the Deferred fires once all are gone."""
        if not self.stopping:
            self.stopping = True
            log.info("stopping {n} worker(s)", n=len(self.workers))
            if not self.workers:
                self.reactor.callLater(0, self._finish)
            else:
                self.forward(signal.SIGTERM)
        finished = defer.Deferred()
        self.done.addBoth(lambda result: finished.callback(None) or result)
        return finished

    async def _finish_async(self):
        if self.embedded is not None:
            await self.embedded.stopService()
        try:
            os.unlink(self.pid_file)
        except OSError:
            pass
        self.done.callback(None)

    def _finish(self):
        defer.Deferred.fromCoroutine(self._finish_async())


def run(config_path, workers, redis_url=None, listen=None, http_listen=None,
        log_format=None):
    """Blocking: supervise `workers` router processes until stopped; the
    supervisor logs as its workers do (log_format, else the config's)."""
    from twisted.logger import globalLogBeginner
    from .logs import observer
    form = log_format or load_config(config_path).log.format
    globalLogBeginner.beginLoggingTo([observer(form, sys.stdout)])

    def main(reactor):
        supervisor = Supervisor(reactor, config_path, workers, redis_url, listen,
                                http_listen=http_listen, log_format=log_format)
        return defer.Deferred.fromCoroutine(supervisor.run())
    task.react(main)
