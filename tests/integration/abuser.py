"""The abuse of tests/integration/test_abuse.py, in a process of its own.

    python -m tests.integration.abuser MODE --port PORT [options]

A child process, so that the abuse costs the router its own work and
nothing else: an abuser in the test's process would share a CPU (and, with
the router in-process, a reactor thread) with the client whose latency the
test measures. It prints JSON lines on stdout: {"event": "started", ...}
once the abuse is under way, then {"event": "done", ...} with what it saw.
It keeps abusing until its stdin closes (the test's measurement is done)
and it has done at least the minimum asked for. binds and garbage also
take "pause" and "resume" lines, so the test can alternate undisturbed and
disturbed rounds; "paused" is said once the router has nothing of ours left
to do. It runs at nice 19: it stands in for a machine elsewhere on the
internet, whose CPU is not the router's.

Modes:
  binds    waves of `--parallel` binds with wrong passwords from --source
           (half for a real system_id, half for names that do not exist);
           done: the count of each bind_resp status, in order of the last 50
  garbage  one connection writing 64 KiB frames of a command_id that does not
           exist, at least --megabytes; done: octets sent, generic_nacks got
  deaf     binds --user as a receiver and never answers a deliver_sm;
           prints {"event": "deliveries", "count": n} as they arrive
  idle     opens --count connections in batches of --batch (the router's
           listen backlog), never sends a byte; done once the router has
           closed them all: how many, and how soon after connecting; on a
           "count" line, prints {"event": "open", "open": n} (still open now)
"""

import argparse
import collections
import json
import os
import sys
import time

from twisted.internet import defer, endpoints, protocol, reactor, stdio, task

from bench.esme import ESMEClient
from smpprouter.smpp.status import status_name

FRAME = 1 << 16


def say(event, **fields):
    sys.stdout.write(json.dumps(dict(fields, event=event)) + "\n")
    sys.stdout.flush()


class Control(protocol.Protocol):
    """The test's orders on our stdin: "pause" and "resume" lines (binds and
    garbage), and its end (stop). `stopped` fires at the end; `go()` is a
    Deferred that fires at once unless paused, else on "resume"."""

    def __init__(self):
        self.stopped = defer.Deferred()
        self.paused = False
        self.on_pause = None    # called on "pause": the mode says "paused" when it is
        self.on_resume = None   # called on "resume"
        self.on_count = None    # called on "count": the mode says what it holds
        self._resume = []
        self._buffer = b""

    def dataReceived(self, data):
        *lines, self._buffer = (self._buffer + data).split(b"\n")
        for line in lines:
            if line == b"pause":
                self.paused = True
                if self.on_pause is not None:
                    self.on_pause()
            elif line == b"resume":
                self.paused = False
                waiting, self._resume = self._resume, []
                for d in waiting:
                    d.callback(None)
                if self.on_resume is not None:
                    self.on_resume()
            elif line == b"count" and self.on_count is not None:
                self.on_count()

    def go(self):
        if not self.paused:
            return defer.succeed(None)
        d = defer.Deferred()
        self._resume.append(d)
        return d

    def connectionLost(self, reason):
        self.paused = False
        waiting, self._resume = self._resume, []
        for d in waiting:
            d.callback(None)
        self.stopped.callback(None)


def dial(port, source, proto):
    endpoint = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port, timeout=10,
                                            bindAddress=(source, 0))
    return endpoints.connectProtocol(endpoint, proto)


# -- binds -------------------------------------------------------------------

async def binds(args, control):
    stop = control.stopped
    statuses = []

    async def guess(i):
        client = await dial(args.port, args.source, ESMEClient())
        resp = await client.bind("transceiver", args.user if i % 2 else "x%d" % i, "g%d" % i)
        await client.wait_closed()
        statuses.append(resp.command_status)

    wave = 0
    while not stop.called or wave * args.parallel < args.count:
        await defer.gatherResults([defer.Deferred.fromCoroutine(guess(wave * args.parallel + i))
                                   for i in range(args.parallel)])
        if wave == 0:
            say("started")
        wave += 1
        if control.paused:
            say("paused", binds=len(statuses))   # nothing of ours is left with the router
            await control.go()
            say("resumed")
    say("done", binds=len(statuses),
        statuses=dict(collections.Counter(status_name(s) for s in statuses)),
        last=[status_name(s) for s in statuses[-50:]])


# -- garbage -----------------------------------------------------------------

class Garbage(protocol.Protocol):
    """64 KiB frames as fast as the socket takes them (a push producer's pace)."""

    def __init__(self, frame, minimum, control):
        self.frame = frame
        self.minimum = minimum
        self.control = control
        self.stop = control.stopped
        self.sent = 0
        self.paused = False
        self.received = bytearray()
        self.nacks = 0
        self.status = None
        self.all_sent = defer.Deferred()
        self.lost = defer.Deferred()
        self.answered = None
        self.said_paused = False

    def connectionMade(self):
        self.transport.registerProducer(self, True)
        self.resumeProducing()

    def pauseProducing(self):
        self.paused = True

    def resumeProducing(self):
        self.paused = False
        while (not self.paused and not self.control.paused and self.transport.connected
               and not self.all_sent.called):
            self.transport.write(self.frame)
            self.sent += len(self.frame)
            if self.sent == len(self.frame):
                say("started")
            if self.stop.called and self.sent >= self.minimum:
                self.transport.unregisterProducer()
                self.all_sent.callback(None)

    def stopProducing(self):
        pass

    def dataReceived(self, data):
        self.received += data
        while len(self.received) >= 16:
            length = int.from_bytes(self.received[:4], "big")
            if len(self.received) < length:
                break
            if self.received[4:8] == b"\x80\x00\x00\x00":
                self.nacks += 1
                self.status = int.from_bytes(self.received[8:12], "big")
            del self.received[:length]
        if self.answered and self.nacks >= self.sent // FRAME:
            self.answered.callback(None)
            self.answered = None
        self.check_paused()

    def check_paused(self):
        """Paused once the router has answered every frame sent: it has
        nothing of ours left to read."""
        if self.control.paused and not self.said_paused and self.nacks >= self.sent // FRAME:
            self.said_paused = True
            say("paused", sent=self.sent)

    def resume(self):
        self.said_paused = False
        say("resumed")
        self.resumeProducing()

    def connectionLost(self, reason):
        self.lost.callback(None)


async def garbage(args, control):
    stop = control.stopped
    frame = (FRAME.to_bytes(4, "big") + b"\x00\x00\x0f\xff" + b"\0\0\0\0" + b"\0\0\0\1"
             + os.urandom(FRAME - 16))
    flood = Garbage(frame, args.megabytes << 20, control)
    control.on_pause = flood.check_paused
    await dial(args.port, args.source, flood)

    control.on_resume = flood.resume
    stop.addCallback(lambda _: flood.resumeProducing())   # it may be paused by then
    await defer.DeferredList([flood.all_sent, flood.lost], fireOnOneCallback=True)
    if flood.nacks < flood.sent // FRAME and not flood.lost.called:
        flood.answered = defer.Deferred()
        await defer.DeferredList([flood.answered, flood.lost], fireOnOneCallback=True)
    say("done", sent=flood.sent, frames=flood.sent // FRAME, nacks=flood.nacks,
        status=flood.status and status_name(flood.status), lost=flood.lost.called)


# -- deaf --------------------------------------------------------------------

async def deaf(args, control):
    stop = control.stopped
    client = ESMEClient(deliver_resp_status=None, keep_deliveries=False)
    count = [0]

    def delivered(pdu):
        count[0] += 1
    client.on_delivery = delivered
    await dial(args.port, args.source, client)
    resp = await client.bind("receiver", args.user, args.password)
    say("started", status=status_name(resp.command_status))
    reported = [0]

    def report():
        if count[0] != reported[0]:
            reported[0] = count[0]
            say("deliveries", count=count[0])
    loop = task.LoopingCall(report)
    loop.start(0.05)
    await stop
    loop.stop()
    report()
    say("done", deliveries=count[0], connected=client.connected)


# -- idle --------------------------------------------------------------------

class Idle(protocol.Protocol):
    def __init__(self):
        self.opened = self.closed_at = None
        self.lost = defer.Deferred()

    def connectionMade(self):
        self.opened = time.monotonic()

    def connectionLost(self, reason):
        self.closed_at = time.monotonic()
        self.lost.callback(None)


async def idle(args, control):
    conns = []
    failed = 0
    for start in range(0, args.count, args.batch):
        batch = [Idle() for _ in range(min(args.batch, args.count - start))]
        results = await defer.DeferredList([dial(args.port, args.source, p) for p in batch],
                                           consumeErrors=True)
        failed += sum(1 for ok, _ in results if not ok)
        conns += [p for (ok, _), p in zip(results, batch) if ok]
    now = time.monotonic()
    control.on_count = lambda: say("open", open=sum(1 for p in conns if p.closed_at is None))
    say("started", connected=len(conns), failed=failed,
        open=sum(1 for p in conns if p.closed_at is None))
    await defer.DeferredList([p.lost for p in conns])
    after = sorted(p.closed_at - p.opened for p in conns)
    say("done", connected=len(conns), failed=failed,
        at_once=sum(1 for a in after if a < args.at_once),
        held=[round(a, 3) for a in after if a >= args.at_once],
        opened_in=round(now - min(p.opened for p in conns), 3))


MODES = dict(binds=binds, garbage=garbage, deaf=deaf, idle=idle)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=sorted(MODES))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--source", default="127.0.0.2")
    parser.add_argument("--user", default="esme3")
    parser.add_argument("--password", default="")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=10)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--at-once", type=float, default=1.0,
                        help="idle: a close sooner than this after connecting was a refusal")
    args = parser.parse_args()
    pass
    control = Control()
    stdio.StandardIO(control)
    failed = []

    async def run():
        try:
            await MODES[args.mode](args, control)
        except Exception as e:
            failed.append(e)
            say("error", error=repr(e))
        finally:
            reactor.stop()
    reactor.callWhenRunning(lambda: defer.Deferred.fromCoroutine(run()))
    reactor.run()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
