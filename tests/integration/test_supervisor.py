"""`smpprouter run --workers N` as an operator runs it, in a real process."""

import os
import signal
import subprocess
import sys
import time

from twisted.trial.unittest import SynchronousTestCase

from bench.e2e import free_port, wait_for_line
from tests.redis_server import shared

from .harness import RouterHarness

BIN = os.path.dirname(sys.executable)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open("/proc/%d/stat" % pid) as f:
        return f.read().split(") ", 1)[1][0] != "Z"


class SupervisorTests(SynchronousTestCase):
    timeout = 90

    def setUp(self):
        # A config and an SMSC port from the in-process harness (nothing listens
        # there, so the workers simply keep trying to bind upstream).
        self.h = RouterHarness()
        self.h.smsc.port.stopListening()
        redis = shared()
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "smpprouter"), "run", "--config", self.h.config_path,
             "--workers", "2", "--redis-url", "redis://%s:%d/0" % (redis.host, redis.port),
             "--listen", "tcp:%d:interface=127.0.0.1" % free_port()],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.seen = []
        self.addCleanup(self._kill)
        wait_for_line(self.proc, ["listener smpp on"] * 2, 30, self.seen)

    def _kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def _worker_pids(self):
        pids = []
        for i in range(2):
            with open(os.path.join(self.h.dir, "var", "smpprouter-%d.pid" % i)) as f:
                pids.append(int(f.read()))
        return pids

    def test_crash_restart_reload_and_clean_stop(self):
        first = self._worker_pids()
        # A worker killed outright is started again.
        os.kill(first[0], signal.SIGKILL)
        wait_for_line(self.proc, ["worker 0 ended"], 30, self.seen)
        wait_for_line(self.proc, ["worker 0 started"], 30, self.seen)
        wait_for_line(self.proc, ["listener smpp on"], 30, self.seen)   # the new one's
        restarted = self._worker_pids()
        self.assertNotEqual(restarted[0], first[0])
        self.assertEqual(restarted[1], first[1])
        # SIGHUP reaches every worker.
        self.proc.send_signal(signal.SIGHUP)
        wait_for_line(self.proc, ["routing table reloaded"] * 2, 30, self.seen)
        # SIGTERM stops them all gracefully; nothing is left running.
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(30), 0, "".join(self.seen[-20:]))
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in restarted) and time.monotonic() < deadline:
            time.sleep(0.05)   # reaping is the kernel's; bounded
        self.assertFalse([p for p in restarted if _alive(p)], "workers outlived the stop")
