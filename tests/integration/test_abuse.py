"""The router under abuse, with real sockets: a bind flood with wrong
passwords from one address, 100 MB of garbage, a session that never answers
its deliver_sm, 1,000 idle connections. Each time the router stays up, its
memory stays bounded (its RSS, measured), and another user's submit latency
p99 stays within 2x of an undisturbed run measured in the same test.

Who runs where, so that the figure is the router's:
- the router is a real process (tests/integration/processes.py), as in
  production: its CPU, its reactor and its RSS are its own;
- the abuse comes from another child process (tests/integration/abuser.py);
- the test process holds the measuring client and the simulated SMSC, which
  do the same small work in both runs.
With the router in the test's process instead, the client and the SMSC would
queue on the router's reactor thread: each submit crosses it four times
instead of two, so the abuse's delay would be counted twice over, while the
client's own work would pad the undisturbed baseline.

The latency: `SAMPLES` submits one after the other (no receipt asked, so no
Redis write on the way), undisturbed first, then again while the abuse is
under way (the abuser says when it is, and keeps going until the
measurement is done). The figures are logged (twisted.logger, in
_trial_temp/test.log) and named in failure messages.
"""

import gc
import json
import os
import sys
import time

from twisted.internet import defer, endpoints, reactor
from twisted.logger import Logger
from twisted.trial.unittest import TestCase

from bench.esme import ESMEClient, connect
from smpprouter.smpp.status import Status
from smpprouter.store.embedded import free_port
from tests.redis_server import shared

from .harness import PASSWORDS, run
from .processes import REPO, RouterProcesses, Worker

log = Logger()
SUBMIT = dict(source_addr="MyBrand", destination_addr="15551234567", short_message=b"hi",
              registered_delivery=0)
SAMPLES = 400      # p99: the 4th slowest
WARMUP = 100
ROUNDS = 4
# What the 2x bound is given on top, for the host: the suite runs on shared
# 2-core machines (other suites alongside, load 5-9), where a process that
# the abuse keeps busy waits a scheduler slice or two for its CPU, whatever
# it does with it. Measured there, the busy router's p99 is 6-20 ms against
# an idle one's 0.4-9 ms (see the figures logged); a router that blocks (a
# scrypt on the reactor thread is 40 ms per bind) or goes quadratic on
# garbage still fails.
SLACK = 0.025
# Alternations tried before the bound is judged failed: on such a host one set
# of rounds can catch the scheduler's worst seconds on the disturbed side; a
# router that really slows its neighbours fails every set.
ATTEMPTS = 3
PUBLIC = ('[listeners.public]\nendpoint = "tcp:%d:interface=127.0.0.1"\n'
          'max_connections = %d\nmax_connections_per_ip = %d\n')
MB = 1024 * 1024


def rss(pid):
    """Resident memory of a process, bytes."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for %d" % pid)


async def latencies(client, n):
    """n submits one after the other: their round trips, seconds, sorted.

    The test process's own garbage collector is held off meanwhile: its
    pauses (a large heap: trial, the SMSC) are the measuring side's, not the
    router's."""
    times = []
    clock = time.perf_counter
    gc.collect()
    gc.disable()
    try:
        for _ in range(n):
            start = clock()
            resp = await client.submit(**SUBMIT)
            times.append(clock() - start)
            assert resp.command_status == Status.ESME_ROK, resp
    finally:
        gc.enable()
    times.sort()
    return times


def p99(times):
    return times[int(len(times) * 0.99) - 1]


def within(quiet, loud):
    """The disturbed p99 within 2x of the undisturbed one, plus SLACK."""
    return p99(loud) <= 2 * p99(quiet) + SLACK


class Abuser:
    """The child process: its JSON lines, started and stopped by the test."""

    def __init__(self, directory, mode, args):
        self.proc = Worker(0, 0, os.path.join(directory, "abuser-%s.log" % mode))
        argv = [sys.executable, "-m", "tests.integration.abuser", mode] + [str(a) for a in args]
        reactor.spawnProcess(self.proc, sys.executable, argv, env=dict(
            os.environ, PYTHONUNBUFFERED="1"), path=REPO, childFDs={0: "w", 1: "r", 2: "r"})

    def events(self, name):
        out = []
        for line in self.proc.lines:
            if line.startswith("{"):
                event = json.loads(line)
                if event["event"] == name:
                    out.append(event)
        return out

    async def wait(self, name, timeout=20):
        await self.proc.wait(lambda lines: self.events(name) or self.events("error"),
                             "%r from the abuser" % name, timeout)
        assert not self.events("error"), self.proc.tail()
        return self.events(name)[-1]

    def say(self, line):
        self.proc.transport.write(line.encode() + b"\n")

    async def wait_count(self, name, count, timeout=20):
        await self.proc.wait(lambda lines: len(self.events(name)) >= count or self.events("error"),
                             "%r x%d from the abuser" % (name, count), timeout)
        assert not self.events("error"), self.proc.tail()

    async def stop(self, timeout=20):
        """Close its stdin (the measurement is done) and wait for its report."""
        self.proc.transport.closeStdin()
        done = await self.wait("done", timeout)
        await self.proc.ended
        return done

    def kill(self):
        if self.proc.running:
            self.proc.transport.signalProcess("KILL")


class AbuseTestCase(TestCase):
    timeout = 60
    smpp = "session_init_timeout = 5\n"
    limits = (0, 0)    # the public listener's max_connections, max_connections_per_ip

    def setUp(self):
        redis = shared()
        redis.command("FLUSHALL")
        self.public = free_port()
        self.h = RouterProcesses(redis, workers=1, smpp=self.smpp,
                                 users={"esme1": "", "esme2": "", "esme3": ""},
                                 extra=PUBLIC % ((self.public,) + self.limits))
        self.abusers = []
        self.addCleanup(lambda: run(self._cleanup()))

        async def start():
            await self.h.start()
            await self.h.worker(0).wait_line("listener public on")
        return run(start())

    async def _cleanup(self):
        for abuser in self.abusers:
            abuser.kill()
            await abuser.proc.ended
        await self.h.stop()

    @property
    def pid(self):
        return self.h.worker(0).pid

    async def other_user(self):
        """esme2, bound on the listener the abuse comes to, from its own address."""
        client = await connect("127.0.0.1", self.public, "transceiver", "esme2",
                               PASSWORDS["esme2"])
        self.h.clients.append(client)
        await latencies(client, WARMUP)
        return client

    def abuse(self, mode, *args):
        abuser = Abuser(self.h.dir, mode, ["--port", self.public] + list(args))
        self.abusers.append(abuser)
        return abuser

    async def settled(self, client, abuser):
        """(quiet, loud) of the first of ATTEMPTS alternations whose disturbed p99
        is within the bound, else of the last (which then fails assert_latency)."""
        for attempt in range(ATTEMPTS):
            quiet, loud = await self.alternate(client, abuser, first=1 + attempt * ROUNDS)
            if within(quiet, loud):
                break
            log.info("latency bound missed on attempt {n}: p99 {quiet:.2f} / {loud:.2f} ms",
                     n=attempt + 1, quiet=p99(quiet) * 1e3, loud=p99(loud) * 1e3)
        return quiet, loud

    async def alternate(self, client, abuser, rounds=ROUNDS, first=1):
        """Undisturbed and disturbed rounds in turn (the abuse paused and
        resumed), so that a change in the machine's other load falls on both.
        first: the abuser's count of pauses so far, plus one."""
        quiet, loud = [], []
        for r in range(first, first + rounds):
            loud += await latencies(client, SAMPLES // rounds)
            abuser.say("pause")
            await abuser.wait_count("paused", r)
            quiet += await latencies(client, SAMPLES // rounds)
            abuser.say("resume")
            await abuser.wait_count("resumed", r)
        return sorted(quiet), sorted(loud)

    def assert_latency(self, name, quiet, loud):
        """The disturbed p99 within 2x of the undisturbed one, plus SLACK."""
        figures = ("%s: submit p99 undisturbed %.2f ms, disturbed %.2f ms (x%.2f); "
                   "median %.2f / %.2f ms" % (name, p99(quiet) * 1e3, p99(loud) * 1e3,
                                               p99(loud) / p99(quiet), quiet[len(quiet) // 2] * 1e3,
                                               loud[len(loud) // 2] * 1e3))
        log.info("{figures}", figures=figures)
        self.figures = figures
        self.assertTrue(within(quiet, loud), figures)


class BindFloodTests(AbuseTestCase):
    smpp = "session_init_timeout = 5\n"

    def test_wrong_passwords_from_one_address(self):
        async def go():
            other = await self.other_user()
            flood = self.abuse("binds", "--source", "127.0.0.2", "--user", "esme3",
                               "--parallel", 10, "--count", 200)
            await flood.wait("started")
            quiet, loud = await self.settled(other, flood)
            done = await flood.stop()
            self.assert_latency("bind flood", quiet, loud)
            # The flood went on in every disturbed round.
            counts = [e["binds"] for e in flood.events("paused")]
            self.assertTrue(all(b - a >= 10 for a, b in zip([0] + counts, counts)), counts)
            self.assertGreaterEqual(done["binds"], 200)
            self.assertEqual(done["last"], ["ESME_RBINDFAIL"] * 50)
            self.assertLessEqual(set(done["statuses"]),
                                 {"ESME_RINVPASWD", "ESME_RINVSYSID", "ESME_RBINDFAIL"})
            # Locked out once (logged by the process whose failure set it).
            self.assertEqual(self.h.worker(0).count("binds from 127.0.0.2 locked out"), 1,
                             self.h.describe())
            # The right user from another address still binds.
            client = await endpoints.connectProtocol(endpoints.TCP4ClientEndpoint(
                reactor, "127.0.0.1", self.public, bindAddress=("127.0.0.3", 0)), ESMEClient())
            self.h.clients.append(client)
            resp = await client.bind("transceiver", "esme1", PASSWORDS["esme1"])
            self.assertEqual(resp.command_status, Status.ESME_ROK)
        return run(go())


class GarbageTests(AbuseTestCase):
    # The garbage comes from a session that never binds: session_init must
    # not close it before the measurement ends, however slow the host.
    smpp = "session_init_timeout = %d\n" % (AbuseTestCase.timeout * 2)

    def test_a_hundred_megabytes_of_framed_garbage(self):
        """Frames of 64 KB with a command id that does not exist: each answered
        generic_nack, nothing kept, the session's neighbours unaffected."""
        async def go():
            other = await self.other_user()
            before = rss(self.pid)
            flood = self.abuse("garbage", "--megabytes", 100)
            await flood.wait("started")
            quiet, loud = await self.settled(other, flood)
            during = rss(self.pid)
            done = await flood.stop()
            self.assert_latency("100 MB of garbage", quiet, loud)
            # The garbage went on in every disturbed round: a megabyte at least.
            sent = [e["sent"] for e in flood.events("paused")]
            self.assertTrue(all(b - a >= MB for a, b in zip([0] + sent, sent)), sent)
            self.assertGreaterEqual(done["sent"], 100 * MB)
            self.assertEqual((done["nacks"], done["status"], done["lost"]),
                             (done["frames"], "ESME_RINVCMDID", False))
            self.assertLess(max(during, rss(self.pid)) - before, 60 * MB)
            log.info("100 MB of garbage: router RSS {before} -> {during} bytes",
                     before=before, during=during)
        return run(go())

    def test_unframeable_garbage_is_closed_at_once(self):
        async def go():
            client = await connect("127.0.0.1", self.public)
            self.h.clients.append(client)
            client.send_raw(os.urandom(1 << 16).replace(b"\0", b"\xff"))
            await client.wait_closed()
            # A generic_nack (its command_length cannot be trusted), then closed.
            self.assertEqual(len(client.generic_nacks), 1)
        return run(go())


class UnansweredDeliveriesTests(AbuseTestCase):
    def test_ten_thousand_deliveries_to_a_session_that_never_answers(self):
        async def go():
            other = await self.other_user()
            await defer.gatherResults([self.h.smsc.send_mo("15550001111", "12345", b"mo %d" % i)
                                       for i in range(10000)])   # queued for esme1
            self.assertEqual(self.h.xlen("esme1"), 10000)
            quiet = await latencies(other, SAMPLES)
            before = rss(self.pid)
            deaf = self.abuse("deaf", "--user", "esme1", "--password", PASSWORDS["esme1"])
            self.assertEqual((await deaf.wait("started"))["status"], "ESME_ROK")
            window = 100   # [smpp] window's default, esme1's
            await deaf.proc.wait(lambda _: any(e["count"] >= window
                                               for e in deaf.events("deliveries")),
                                 "the window's deliveries", 10)
            loud = await latencies(other, SAMPLES)
            done = await deaf.stop()
            self.assert_latency("10,000 unanswered deliver_sm", quiet, loud)
            # The router's window stops it: nothing more is sent while unanswered.
            self.assertEqual(done, dict(event="done", deliveries=window, connected=True))
            self.assertEqual(self.h.xlen("esme1"), 10000)
            self.assertLess(rss(self.pid) - before, 60 * MB)
        return run(go())


class IdleConnectionsTests(AbuseTestCase):
    init = 25   # opening 1,000 connections and measuring took up to 12 s on CI
    smpp = "session_init_timeout = %d\n" % init
    limits = (600, 0)

    def test_a_thousand_idle_connections(self):
        """max_connections closes those beyond it at once, session_init the
        others when it passes; meanwhile the router's memory stays bounded
        and a bound user is served as before."""
        async def go():
            other = await self.other_user()
            quiet = await latencies(other, SAMPLES)
            before = rss(self.pid)
            spawned = time.monotonic()
            idle = self.abuse("idle", "--count", 1000, "--batch", 50)
            started = await idle.wait("started")
            # Idle connections cannot pause, so no alternation: up to ATTEMPTS
            # measurements while they are held, the first within the bound kept.
            for attempt in range(ATTEMPTS):
                loud = await latencies(other, SAMPLES)
                if within(quiet, loud):
                    break
                log.info("latency bound missed on attempt {n}: p99 {quiet:.2f} / {loud:.2f} ms",
                         n=attempt + 1, quiet=p99(quiet) * 1e3, loud=p99(loud) * 1e3)
            during = rss(self.pid)
            idle.say("count")
            still = await idle.wait("open")
            measured = time.monotonic()
            done = await idle.stop(timeout=self.init + 10)
            self.assert_latency("1,000 idle connections", quiet, loud)
            # Measured while they were open: the 599 held ones all still were.
            self.assertEqual(still["open"], 599, (started, measured - spawned))
            self.assertEqual((done["connected"], done["failed"]), (1000, 0))
            # 600 less esme2's own connection held; the rest closed at once.
            held = done["held"]
            self.assertEqual((len(held), done["at_once"]), (599, 401))
            self.assertGreaterEqual(min(held), self.init - 0.5)
            self.assertLess(max(held), self.init + 3)
            log.info("1,000 idle connections: router RSS {before} -> {during} bytes",
                     before=before, during=during)
            self.assertLess(during - before, 40 * MB)
        return run(go())
