"""Store throughput through its API, against commands issued one by one.

Starts its own redis-server (EmbeddedRedis, in a temp dir: AOF on, as in
production) unless given --port. Each store figure is calls issued 1,000 per
reactor turn, waited for, repeated; "one by one" is the same work as single
txredisapi commands each awaited before the next, the way code without
batching would do it. Same process, seconds apart, so the ratios hold better
than the absolute figures on a shared machine.

    python -m bench.store [--calls 100000] [--batch 1000] [--port 6379]
"""

import argparse
import shutil
import tempfile
import time

from twisted.internet import defer, task

from smpprouter.store import keys, scripts
from smpprouter.store.codec import encode_mapping
from smpprouter.store.embedded import EmbeddedRedis
from smpprouter.store.interface import Mapping
from smpprouter.store.redis import RedisStore

MAPPING = Mapping("7f3c2a9e0b1d4c55", "acme", "MyBrand", "447700900123", 1795000000.25, 1, 1)
RECEIPT = b"\x00" * 16 + b"id:7f3c2a9e0b1d4c55 sub:001 dlvrd:001 submit date:2611221530 " \
                         b"done date:2611221531 stat:DELIVRD err:000 text:" + b"x" * 40


def rate(n, seconds):
    return n / seconds if seconds else float("inf")


@defer.inlineCallbacks
def batched(calls, batch, issue):
    """issue(i) -> Deferred, `batch` of them per reactor turn; ops/s."""
    t0 = time.perf_counter()
    for start in range(0, calls, batch):
        yield defer.gatherResults([issue(i) for i in range(start, min(calls, start + batch))])
    return rate(calls, time.perf_counter() - t0)


@defer.inlineCallbacks
def one_by_one(calls, issue):
    t0 = time.perf_counter()
    for i in range(calls):
        yield issue(i)
    return rate(calls, time.perf_counter() - t0)


@defer.inlineCallbacks
def save_variants(conn, calls, batch):
    """The design check behind SAVE_MAPPINGS: one script per batch vs a pipeline
    of SET ... EX written together, on the raw connection (no store overhead)."""
    value = encode_mapping(MAPPING)
    prefix = keys.mapping_prefix("bench-raw")

    def script(start):
        args = [b"EVALSHA", scripts.SAVE_MAPPINGS.sha, batch]
        args += [prefix + b"%d" % (start + j) for j in range(batch)]
        for _ in range(batch):
            args += (3600, value)
        return conn.execute_command(*args)

    def pipeline(start):
        return defer.gatherResults([
            conn.execute_command(b"SET", prefix + b"%d" % (start + j), value, b"EX", 3600)
            for j in range(batch)])

    out = {}
    for name, f in (("script", script), ("pipeline", pipeline)):
        t0 = time.perf_counter()
        for start in range(0, calls, batch):
            yield f(start)
        out[name] = rate(calls, time.perf_counter() - t0)
    return out


@defer.inlineCallbacks
def main(reactor, args):
    tmp = None
    embedded = None
    host, port = "127.0.0.1", args.port
    if not port:
        tmp = tempfile.mkdtemp(prefix="bench-store-")
        embedded = EmbeddedRedis(tmp)
        host, port = yield embedded.startService()
    store = RedisStore(host, port, instance="bench")
    try:
        yield store.start()
        conn = store._connection()
        yield conn.execute_command(b"FLUSHDB")
        n, b, n1 = args.calls, args.batch, args.single
        up = [f"{i:016x}" for i in range(n)]
        print(f"redis-server on {host}:{port}; {n} calls, {b} per reactor turn; "
              f"one by one: {n1} calls")
        figures = {}
        c0, f0 = store.commands, store.flushes
        figures["save_mapping"] = yield batched(
            n, b, lambda i: store.save_mapping("smsc1", up[i], MAPPING, 3600))
        per = (store.commands - c0) / (store.flushes - f0)
        figures["get_mapping"] = yield batched(n, b, lambda i: store.get_mapping("smsc1", up[i]))

        def cycle(i):
            # one receipt's whole life: enqueue, claim (this turn's), ack
            return store.enqueue("acme", RECEIPT)
        t0 = time.perf_counter()
        for start in range(0, n, b):
            k = min(n, start + b) - start
            yield defer.gatherResults([cycle(i) for i in range(k)])
            got = yield store.claim("acme", "bench", k)
            yield defer.gatherResults([store.ack("acme", e.entry_id) for e in got])
        figures["enqueue+claim+ack"] = rate(n, time.perf_counter() - t0)

        single = {}
        value = encode_mapping(MAPPING)
        single["SET EX"] = yield one_by_one(n1, lambda i: conn.execute_command(
            b"SET", b"map:{single}:%d" % i, value, b"EX", 3600))
        single["GET"] = yield one_by_one(n1, lambda i: conn.execute_command(
            b"GET", b"map:{single}:%d" % i))
        single["save_mapping awaited"] = yield one_by_one(
            n1, lambda i: store.save_mapping("smsc2", up[i], MAPPING, 3600))


        @defer.inlineCallbacks
        def awaited_cycle(i):
            yield store.enqueue("acme", RECEIPT)
            got = yield store.claim("acme", "bench", 1)
            yield store.ack("acme", got[0].entry_id)
        single["enqueue+claim+ack awaited"] = yield one_by_one(n1 // 3, awaited_cycle)

        variants = yield save_variants(conn, n, b)

        print(f"\nthrough the store API, {b} calls per turn "
              f"({per:.1f} command(s) per save batch):")
        for name, r in figures.items():
            print(f"  {name:26s} {r:>10,.0f} /s   {1e6 / r:6.1f} µs each")
        print("\none by one (each awaited before the next):")
        for name, r in single.items():
            print(f"  {name:26s} {r:>10,.0f} /s   {1e6 / r:6.1f} µs each")
        print("\nratios:")
        for what, a, b_ in (("save_mapping batched / SET one by one", "save_mapping", "SET EX"),
                            ("get_mapping batched / GET one by one", "get_mapping", "GET"),
                            ("enqueue+claim+ack batched / awaited", "enqueue+claim+ack",
                             "enqueue+claim+ack awaited")):
            print(f"  {what:40s} {figures[a] / single[b_]:5.1f}x")
        print(f"\nsave batch of {b}, raw connection: one EVALSHA "
              f"{variants['script']:,.0f} keys/s vs pipeline of SET EX "
              f"{variants['pipeline']:,.0f} keys/s "
              f"({variants['script'] / variants['pipeline']:.1f}x)")
    finally:
        if store._connection() is not None:
            yield store._connection().execute_command(b"FLUSHDB")
        yield store.stop()
        if embedded is not None:
            yield embedded.stopService()
            shutil.rmtree(tmp, ignore_errors=True)


def run():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--single", type=int, default=5000, help="calls for one-by-one figures")
    parser.add_argument("--port", type=int, default=0,
                        help="use this Redis instead of starting one")
    args = parser.parse_args()
    task.react(main, (args,))


if __name__ == "__main__":
    run()
