"""Which Redis Cluster client for the store: measured on the store's batched workload.

Each turn issues the synchronous path's store work for three connectors:
`--per` save_mapping and `--per` get_mapping each (one SAVE_MAPPINGS script and
one MGET per connector, as RedisStore batches them), waits for all, and goes
on. Four clients do the same turns, each in its own process, alternated for
`--rounds` rounds in one run (these machines change speed from minute to
minute; the ratios hold better than the absolute figures):

    single     RedisStore on one redis-server (the reference)
    slots      ClusterStore (store/cluster.py) on a three-node cluster
    slots-aio  the same under Twisted's asyncio reactor (what that reactor
               costs the I/O the router already does)
    redis-py   redis.asyncio.cluster.RedisCluster, one ClusterPipeline per turn,
               under Twisted's asyncio reactor (what the router would run)
    asyncio    the same redis-py code under plain asyncio (its floor)

Printed: client CPU (user + sys of the process) and wall time per operation,
in µs. The cluster is started here (tests/redis_cluster.py: three
cluster-enabled redis-servers joined by redis-cli --cluster create).

    python -m bench.cluster [--turns 500] [--per 33] [--rounds 3]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

CONNECTORS = ("smsc", "smsc-2", "upstream-3")
KINDS = ("single", "slots", "slots-aio", "redis-py", "asyncio")


def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _result(ops, cpu, wall):
    print(json.dumps({"cpu_us": cpu / ops * 1e6, "wall_us": wall / ops * 1e6}))


def _twisted_store(kind, nodes, turns, per):
    if kind.endswith("-aio"):
        import asyncio

        from twisted.internet import asyncioreactor
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        asyncioreactor.install(loop)
    from twisted.internet import defer, task

    from smpprouter.store.cluster import ClusterStore
    from smpprouter.store.interface import Mapping
    from smpprouter.store.redis import RedisStore
    mapping = Mapping("7f3c2a9e0b1d4c55", "acme", "MyBrand", "447700900123", 1795000000.25, 1, 1)

    async def main():
        if kind == "single":
            store = RedisStore(*nodes[0], instance="bench")
        else:
            store = ClusterStore(nodes, instance="bench")
        await store.start()
        cpu, wall = _cpu(), time.perf_counter()
        for t in range(turns):
            ds = [store.save_mapping(c, "%d-%d" % (t, i), mapping, 600)
                  for c in CONNECTORS for i in range(per)]
            ds += [store.get_mapping(c, "%d-%d" % (t - 1, i)) for c in CONNECTORS
                   for i in range(per)]
            await defer.gatherResults(ds)
        _result(turns * per * 2 * len(CONNECTORS), _cpu() - cpu, time.perf_counter() - wall)
        await store.stop()
    task.react(lambda _: defer.Deferred.fromCoroutine(main()))


def _redis_py(kind, nodes, turns, per):
    import asyncio

    from redis.asyncio.cluster import ClusterNode, RedisCluster

    from smpprouter.store import keys, scripts
    from smpprouter.store.codec import decode_mapping, encode_mapping
    from smpprouter.store.interface import Mapping
    from twisted.internet.defer import Deferred as Waiter
    mapping = Mapping("7f3c2a9e0b1d4c55", "acme", "MyBrand", "447700900123", 1795000000.25, 1, 1)
    sha = scripts.SAVE_MAPPINGS.sha.decode()

    async def main(wait):
        rc = RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in nodes])
        await wait(rc.initialize())
        await wait(rc.script_load(scripts.SAVE_MAPPINGS.source))
        cpu, wall = _cpu(), time.perf_counter()
        for t in range(turns):
            # what a store on this client would do per call as well: encode
            # each mapping, decode each reply, one waiter (Deferred) per caller
            waiters = []
            pipe = rc.pipeline(transaction=False)
            for c in CONNECTORS:
                saves = [keys.mapping(c, "%d-%d" % (t, i)) for i in range(per)]
                argv = []
                for _ in saves:
                    argv += (600, encode_mapping(mapping))
                    waiters.append(Waiter())
                pipe.execute_command("EVALSHA", sha, len(saves), *saves, *argv)
                pipe.execute_command("MGET", *[keys.mapping(c, "%d-%d" % (t - 1, i))
                                               for i in range(per)])
            replies = await wait(pipe.execute())
            for reply in replies[1::2]:
                for raw in reply:
                    w = Waiter()
                    w.callback(raw and decode_mapping(raw))
            for w in waiters:
                w.callback(None)
        _result(turns * per * 2 * len(CONNECTORS), _cpu() - cpu, time.perf_counter() - wall)
        await wait(rc.aclose())

    if kind == "asyncio":
        asyncio.run(main(lambda c: c))
        return
    from twisted.internet import asyncioreactor
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    asyncioreactor.install(loop)
    from twisted.internet import defer, task

    def wait(coroutine):
        return defer.Deferred.fromFuture(asyncio.ensure_future(coroutine, loop=loop))

    task.react(lambda _: defer.Deferred.fromCoroutine(main(wait)))


def child(kind, nodes, turns, per):
    if kind in ("single", "slots", "slots-aio"):
        _twisted_store(kind, nodes, turns, per)
    else:
        _redis_py(kind, nodes, turns, per)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=500)
    parser.add_argument("--per", type=int, default=33)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--nodes", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        nodes = [(h, int(p)) for h, p in (n.rsplit(":", 1) for n in args.nodes.split(","))]
        return child(args.child, nodes, args.turns, args.per)

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from tests.redis_cluster import RedisCluster
    from tests.redis_server import RedisServer
    cluster = RedisCluster().start()
    single = RedisServer().start()
    figures = {k: [] for k in KINDS}
    try:
        for r in range(args.rounds):
            for kind in KINDS:
                nodes = ["%s:%d" % (single.host, single.port)] if kind == "single" \
                    else cluster.addresses
                for server in [single] + cluster.nodes:
                    server.command("FLUSHALL")
                out = subprocess.run(
                    [sys.executable, "-m", "bench.cluster", "--child", kind, "--nodes",
                     ",".join(nodes), "--turns", str(args.turns), "--per", str(args.per)],
                    check=True, capture_output=True, text=True).stdout
                figures[kind].append(json.loads(out.strip().splitlines()[-1]))
                print("round %d %-9s %s" % (r + 1, kind, figures[kind][-1]), flush=True)
    finally:
        cluster.cleanup()
        single.cleanup()
    ops = args.turns * args.per * 2 * len(CONNECTORS)
    print("\n%d operations per run (%d turns of %d save_mapping + %d get_mapping on %d "
          "connectors); best of %d rounds, µs per operation:" % (
              ops, args.turns, args.per, args.per, len(CONNECTORS), args.rounds))
    base = min(f["cpu_us"] for f in figures["single"])
    for kind in KINDS:
        cpu = min(f["cpu_us"] for f in figures[kind])
        wall = min(f["wall_us"] for f in figures[kind])
        print("  %-9s client CPU %6.2f (%.2fx single)   wall %6.2f" % (kind, cpu, cpu / base,
                                                                         wall))


if __name__ == "__main__":
    main()
