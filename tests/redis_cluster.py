"""A throwaway 3-node Redis Cluster on loopback, for the cluster tests.

    cluster = RedisCluster().start()     # 3 primaries, slots spread by redis-cli
    cluster.url                          # redis+cluster://127.0.0.1:p1,...,p3
    cluster.command("XLEN", "dlv:{u}")   # to the node owning the key's slot
    cluster.move_slot(slot, step)        # a resharding of one slot, step() between batches
    cluster.cleanup()

The nodes are tests.redis_server.RedisServer processes with --cluster-enabled;
the cluster is made by `redis-cli --cluster create` (the binary next to the
redis-server in use), as an operator would. Synchronous, like redis_server.py.
"""

import os
import random
import shutil
import socket
import subprocess
import tempfile
import time

from smpprouter.store.cluster import slot_of
from tests.redis_server import RedisError, RedisServer

NODES = 3
READY_TIMEOUT = 30.0


def cluster_port():
    """A free port whose cluster bus port (+10000) is free too; a cluster node
    refuses a port above 55535."""
    for _ in range(200):
        port = random.randint(20000, 55535)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


class RedisCluster:
    def __init__(self, nodes=NODES, node_timeout=5000):
        self.directory = tempfile.mkdtemp(prefix="smpprouter-cluster-")
        self.node_timeout = node_timeout
        self.nodes = [self._node(i) for i in range(nodes)]   # the primaries made at start
        self.replicas = []
        self.cli = os.path.join(os.path.dirname(self.nodes[0].executable), "redis-cli")

    def _node(self, i):
        directory = os.path.join(self.directory, "node-%d" % i)
        os.makedirs(directory)
        server = RedisServer(directory, extra_args=[
            "--cluster-enabled", "yes", "--cluster-node-timeout", str(self.node_timeout),
            "--cluster-config-file", os.path.join(directory, "nodes.conf")])
        server.port = cluster_port()
        return server

    def add_replica(self, primary):
        """A new node replicating primary (redis-cli --cluster add-node
        --cluster-slave), once its link to the primary is up."""
        replica = self._node(len(self.nodes) + len(self.replicas))
        self.replicas.append(replica)
        replica.start()
        subprocess.run([self.cli, "--cluster", "add-node", "%s:%d" % (replica.host, replica.port),
                        "%s:%d" % (primary.host, primary.port), "--cluster-slave",
                        "--cluster-master-id", primary.command("CLUSTER", "MYID")],
                       check=True, capture_output=True, timeout=READY_TIMEOUT)
        deadline = time.monotonic() + READY_TIMEOUT
        while "master_link_status:up" not in replica.command("INFO", "replication"):
            if time.monotonic() > deadline:
                raise RuntimeError("replica did not sync: %s" % replica.command("INFO",
                                                                                "replication"))
            time.sleep(0.05)
        return replica

    @property
    def url(self):
        return "redis+cluster://" + ",".join("%s:%d" % (n.host, n.port) for n in self.nodes)

    # the first node's, for code that names one server (a seed node)
    host = property(lambda self: self.nodes[0].host)
    port = property(lambda self: self.nodes[0].port)

    @property
    def addresses(self):
        return ["%s:%d" % (n.host, n.port) for n in self.nodes]

    def start(self):
        try:
            for node in self.nodes:
                node.start()
            subprocess.run([self.cli, "--cluster", "create", *self.addresses,
                            "--cluster-replicas", "0", "--cluster-yes"],
                           check=True, capture_output=True, timeout=READY_TIMEOUT)
            self.wait_ok()
        except BaseException:
            self.cleanup()
            raise
        return self

    def wait_ok(self):
        """Every node says cluster_state:ok and agrees on who owns each slot."""
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            states = [n.command("CLUSTER", "INFO") for n in self.nodes]
            if all("cluster_state:ok" in s for s in states):
                maps = [sorted(map(repr, n.command("CLUSTER", "SLOTS"))) for n in self.nodes]
                if all(m == maps[0] for m in maps):
                    return
            time.sleep(0.05)
        raise RuntimeError("cluster not ready: %r" % states)

    def cleanup(self):
        for node in self.nodes + self.replicas:
            node.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    # -- who owns what

    def node_ids(self):
        return [n.command("CLUSTER", "MYID") for n in self.nodes]

    def owner(self, slot):
        """The node (a RedisServer) serving slot now."""
        asked = next(n for n in self.nodes + self.replicas if n.running)
        for start, end, primary, *_ in asked.command("CLUSTER", "SLOTS"):
            if start <= slot <= end:
                return next(n for n in self.nodes + self.replicas if n.port == primary[1])
        raise RuntimeError("slot %d is not served" % slot)

    def command(self, *args):
        """One command on the node owning args[1]'s slot (any node for none),
        following a MOVED (a command whose key comes later); DBSIZE sums the
        nodes', EXISTS counts its keys each on its own node."""
        name = str(args[0]).upper()
        if name == "DBSIZE":
            return sum(n.command("DBSIZE") for n in self.nodes)
        if name == "EXISTS" and len(args) > 2:
            return sum(self.command("EXISTS", key) for key in args[1:])
        node = self.owner(slot_of(_bytes(args[1]))) if len(args) > 1 else self.nodes[0]
        try:
            return node.command(*args)
        except RedisError as e:
            if not str(e).startswith("MOVED "):
                raise
            port = int(str(e).rsplit(":", 1)[1])
            return next(n for n in self.nodes if n.port == port).command(*args)

    def flushall(self):
        for node in self.nodes:
            node.command("FLUSHALL")

    def keys(self):
        return sorted(k for n in self.nodes for k in n.command("KEYS", "*"))

    def command_calls(self):
        """{command: calls} summed over the nodes (INFO commandstats)."""
        total = {}
        for n in self.nodes:
            for name, calls in n.command_calls().items():
                total[name] = total.get(name, 0) + calls
        return total

    # -- resharding

    def move_slot(self, slot, target=None, batch=10):
        """A generator that moves slot to another node as `redis-cli --cluster
        reshard` does (SETSLOT IMPORTING / MIGRATING, MIGRATE batch keys at a
        time, SETSLOT NODE on every node), yielding between the steps so a test
        can let traffic run while the slot is half moved. Returns the target."""
        source = self.owner(slot)
        if target is None:
            target = next(n for n in self.nodes if n is not source)
        source_id = source.command("CLUSTER", "MYID")
        target_id = target.command("CLUSTER", "MYID")
        target.command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
        source.command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
        yield "migrating"
        while True:
            keys = source.command("CLUSTER", "GETKEYSINSLOT", slot, batch)
            if not keys:
                break
            source.command("MIGRATE", target.host, target.port, "", 0, 5000,
                           "REPLACE", "KEYS", *keys)
            yield "moved %d" % len(keys)
        for node in [target, source] + [n for n in self.nodes if n not in (source, target)]:
            node.command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
        yield "done"
        return target


def _bytes(value):
    return value if isinstance(value, bytes) else str(value).encode()


__all__ = ["RedisCluster", "RedisError", "cluster_port"]


_shared = None


def shared_cluster() -> RedisCluster:
    """This process's cluster, started on first call and stopped at exit."""
    global _shared
    if _shared is None:
        import atexit
        cluster = RedisCluster()
        atexit.register(cluster.cleanup)
        cluster.start()
        _shared = cluster
    return _shared
