"""Load generator: binds transceivers, sends submit_sm, waits for the receipts, prints figures.

    python -m bench.load --host 127.0.0.1 --port 2775 --user esme1 --password pw1 \\
        --sessions 4 --window 50 --count 20000 [--rate 0] [--json]
        [--schedule-delivery-time 000000000010000R] [--validity-period 000000010000000R]

Each session keeps `--window` submit_sm outstanding (or, with `--rate`, the
sessions share that many messages per second).  Every submit_sm asks for a
receipt (registered_delivery=1) and goes to a destination starting with "1".
A receipt matches when its id (receipted_message_id, else the text's `id:`)
is one a submit_sm_resp gave; a receipt may arrive before its resp, and is
matched when the resp comes.  After the last resp, receipts are awaited for
up to `--drain-timeout` seconds.

Figures: msg/s (accepted/s) is accepted submit_sm per second from the
first send to the last resp; latency is submit_sm to its resp; the receipt
rate runs from the first send to the last matched receipt.  Against a
store-and-forward account the two differ: accepted/s is how fast the router
stores, receipts/s how fast it drains, and `receipt_tail_seconds` how long
receipts kept coming after the last resp.  One process, one core: when the peer is fast, this
process is the limit (see the report in tests/integration/test_peers.py).
"""

import argparse
import collections
import json
import sys
import time
from functools import partial

from twisted.internet import defer, task

from smpprouter.smpp.pdu import SubmitSm
from smpprouter.smpp.receipt import parse_receipt
from smpprouter.smpp.status import status_name

from .esme import connect

RECEIPT_TYPE = 0x04   # esm_class message-type bits of a delivery receipt
TICK = 0.01           # seconds between rate-limited sending rounds
DESTINATION_DIGITS = 10


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=2775)
    p.add_argument("--system-id", "--user", dest="system_id", default="esme1",
                   help="the account every session binds as")
    p.add_argument("--password", default="pw1")
    p.add_argument("--sessions", type=int, default=4)
    p.add_argument("--window", type=int, default=50)
    p.add_argument("--count", type=int, default=20000)
    p.add_argument("--rate", type=float, default=0.0, help="messages/s in all, 0: unlimited")
    p.add_argument("--drain-timeout", type=float, default=30.0, metavar="SECONDS")
    p.add_argument("--source", default="bench")
    p.add_argument("--text", default="bench.load message")
    p.add_argument("--registered-delivery", type=int, default=1)
    p.add_argument("--schedule-delivery-time", default="", metavar="SMPP_TIME",
                   help="on every submit_sm (absolute, or relative: 000000000010000R)")
    p.add_argument("--validity-period", default="", metavar="SMPP_TIME",
                   help="on every submit_sm (absolute, or relative)")
    p.add_argument("--json", action="store_true", help="also print the summary as one JSON line")
    return p.parse_args(argv)


def _percentile(ordered, fraction):
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(fraction * (len(ordered) - 1) + 0.5))]


def receipt_id(pdu):
    """The id a receipt names: receipted_message_id, else the text's id: field."""
    rid = pdu.tlvs.get("receipted_message_id")
    if rid:
        return rid
    parsed = parse_receipt(pdu.short_message)
    return parsed.id if parsed is not None else None


class Load:
    """The run's state; the callbacks below are its hot path (no Deferred per message)."""

    def __init__(self, args, reactor):
        self.args = args
        self.reactor = reactor
        self.clients = []
        self.text = args.text.encode("latin-1")
        self.sent = 0
        self.answered = 0            # resps, and requests lost with their connection
        self.ok = 0
        self.errors = collections.Counter()
        self.lost = 0
        self.latencies = []
        self.awaiting = set()        # ids given by a resp, no receipt yet
        self.early = set()           # receipt ids no resp has given (yet)
        self.matched_ids = set()
        self.receipts = 0
        self.duplicates = 0
        self.mo = 0
        self.started = self.last_resp = self.first_receipt = self.last_receipt = None
        self.sent_all = defer.Deferred()      # every request answered (or lost)
        self.drained = defer.Deferred()       # every expected receipt in
        self.want_receipts = args.registered_delivery & 3 == 1

    # --- sending ------------------------------------------------------------

    def send_one(self, client):
        i = self.sent
        self.sent = i + 1
        pdu = SubmitSm(source_addr=self.args.source,
                       dest_addr_ton=1, dest_addr_npi=1,
                       destination_addr="1%0*d" % (DESTINATION_DIGITS, i),
                       registered_delivery=self.args.registered_delivery,
                       schedule_delivery_time=self.args.schedule_delivery_time,
                       validity_period=self.args.validity_period,
                       short_message=self.text)
        client.request(pdu, partial(self.on_resp, client, time.perf_counter()), self.on_fail)

    def fill(self, client):
        count = self.args.count
        while self.sent < count and client.connected and client.window_free:
            self.send_one(client)

    def tick(self):
        """Rate-limited mode: send what the rate allows so far, spread over the sessions."""
        due = min(self.args.count, int(self.args.rate * (time.perf_counter() - self.started)))
        live = [c for c in self.clients if c.connected]
        while self.sent < due and live:
            progressed = False
            for client in live:
                if self.sent >= due:
                    break
                if client.window_free:
                    self.send_one(client)
                    progressed = True
            if not progressed:
                break

    # --- receiving ----------------------------------------------------------

    def on_resp(self, client, sent_at, resp):
        now = time.perf_counter()
        self.latencies.append(now - sent_at)
        self.last_resp = now
        if resp.command_status == 0 and resp.command_id & 0x7FFFFFFF == 4:
            self.ok += 1
            mid = resp.message_id
            if mid in self.early:
                self.early.discard(mid)
                self.matched_ids.add(mid)
                self.last_receipt = now
                if self.first_receipt is None:
                    self.first_receipt = now
            elif self.want_receipts:
                self.awaiting.add(mid)
        else:
            self.errors[status_name(resp.command_status)] += 1
        self.answered_one()
        if not self.args.rate:
            self.fill(client)

    def on_fail(self, reason):
        self.lost += 1
        self.answered_one()

    def answered_one(self):
        self.answered += 1
        if self.answered >= self.args.count and not self.sent_all.called:
            self.sent_all.callback(None)
            self.check_drained()

    def on_delivery(self, pdu):
        if pdu.esm_class & 0x3C != RECEIPT_TYPE:
            self.mo += 1
            return
        self.receipts += 1
        rid = receipt_id(pdu)
        if rid in self.awaiting:
            self.awaiting.discard(rid)
            self.matched_ids.add(rid)
            self.last_receipt = time.perf_counter()
            if self.first_receipt is None:
                self.first_receipt = self.last_receipt
            if not self.awaiting and self.sent_all.called:
                self.check_drained()
        elif rid in self.matched_ids:
            self.duplicates += 1
        else:
            self.early.add(rid)

    def check_drained(self):
        if not self.awaiting and not self.drained.called:
            self.drained.callback(None)

    def client_lost(self, reason):
        if not any(c.connected for c in self.clients):
            # Nothing more can arrive: whatever is still outstanding is lost.
            if not self.sent_all.called:
                self.sent_all.callback(None)
            if not self.drained.called:
                self.drained.callback(None)
        return reason

    # --- figures --------------------------------------------------------------

    def summary(self):
        ordered = sorted(self.latencies)
        span = (self.last_resp - self.started) if self.last_resp else 0.0
        receipt_span = (self.last_receipt - self.started) if self.last_receipt else 0.0
        tail = (max(0.0, self.last_receipt - self.last_resp)
                if self.last_receipt and self.last_resp else 0.0)
        first = (self.first_receipt - self.started) if self.first_receipt else None

        def ms(x):
            return None if x is None else round(x * 1000, 3)

        return {
            "sessions": self.args.sessions, "window": self.args.window,
            "rate_limit": self.args.rate, "count": self.args.count,
            "sent": self.sent, "ok": self.ok, "errors": dict(self.errors), "lost": self.lost,
            "seconds": round(span, 3),
            "msg_per_s": round(self.ok / span, 1) if span else 0.0,
            "accepted_per_s": round(self.ok / span, 1) if span else 0.0,
            "latency_ms": {"p50": ms(_percentile(ordered, 0.50)),
                           "p99": ms(_percentile(ordered, 0.99)),
                           "max": ms(ordered[-1] if ordered else None)},
            "receipts": self.receipts, "receipts_matched": len(self.matched_ids),
            "receipts_unmatched": len(self.early), "receipts_duplicate": self.duplicates,
            "receipts_missing": len(self.awaiting) if self.want_receipts else 0,
            "receipt_seconds": round(receipt_span, 3),
            "receipts_per_s": round(len(self.matched_ids) / receipt_span, 1)
            if receipt_span else 0.0,
            "first_receipt_seconds": None if first is None else round(first, 3),
            "receipt_tail_seconds": round(tail, 3),
            "mo": self.mo,
        }


async def run(args, reactor=None):
    """Bind, send, drain, unbind; the summary as a dict."""
    if reactor is None:
        from twisted.internet import reactor
    load = Load(args, reactor)
    binds = [connect(args.host, args.port, "transceiver", args.system_id, args.password,
                     window=args.window, keep_deliveries=False, reactor=reactor)
             for _ in range(args.sessions)]
    results = await defer.DeferredList(binds, consumeErrors=True)
    clients = [r for ok, r in results if ok]
    if len(clients) < len(binds):
        failure = next(r for ok, r in results if not ok)
        for client in clients:
            client.abort()
        failure.raiseException()
    load.clients = clients
    for client in clients:
        client.on_delivery = load.on_delivery
        client.connection_lost.addCallback(load.client_lost)

    load.started = time.perf_counter()
    if args.count <= 0:
        load.sent_all.callback(None)
        load.check_drained()
    elif args.rate:
        ticker = task.LoopingCall(load.tick)
        ticker.clock = reactor
        ticker.start(TICK)
        load.sent_all.addBoth(lambda r: ticker.stop() if ticker.running else None)
    else:
        for client in clients:
            load.fill(client)
    await load.sent_all
    if not load.drained.called:
        timeout = reactor.callLater(args.drain_timeout, load.drained.callback, None)
        await load.drained
        if timeout.active():
            timeout.cancel()

    summary = load.summary()
    await _close(clients, reactor)
    return summary


async def _close(clients, reactor, timeout=2.0):
    """Unbind every session still up; abort those that do not answer in time."""
    waits = []
    for client in clients:
        if not client.connected:
            continue
        d = client.unbind()
        d.addErrback(lambda _: None)
        d.addTimeout(timeout, reactor)
        d.addErrback(lambda _, c=client: c.abort())
        waits.append(d)
        waits.append(client.wait_closed())
    if waits:
        await defer.gatherResults(waits, consumeErrors=True)


def format_summary(s):
    lat = s["latency_ms"]
    lines = [
        "sessions %d, window %d, rate %s: %d sent, %d ok, %d lost, errors %s" % (
            s["sessions"], s["window"], s["rate_limit"] or "unlimited", s["sent"], s["ok"],
            s["lost"], s["errors"] or "none"),
        "submit: %.0f msg/s over %.3f s; resp latency p50 %s ms, p99 %s ms, max %s ms" % (
            s["msg_per_s"], s["seconds"], lat["p50"], lat["p99"], lat["max"]),
        "receipts: %d received, %d matched, %d unmatched, %d duplicate, %d missing; "
        "last matched at %.3f s (%.0f receipts/s)" % (
            s["receipts"], s["receipts_matched"], s["receipts_unmatched"],
            s["receipts_duplicate"], s["receipts_missing"], s["receipt_seconds"],
            s["receipts_per_s"]),
    ]
    lines.append("accepted %.0f/s (stored, for store and forward); receipts %.0f/s (drained), "
                 "the last %.3f s after the last resp" % (
                     s["accepted_per_s"], s["receipts_per_s"], s["receipt_tail_seconds"]))
    if s["mo"]:
        lines.append("MO: %d received" % s["mo"])
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)

    async def go(reactor):
        summary = await run(args, reactor)
        print(format_summary(summary))
        if args.json:
            print(json.dumps(summary, sort_keys=True))
        sys.stdout.flush()

    task.react(lambda reactor: defer.ensureDeferred(go(reactor)))


if __name__ == "__main__":
    main()
