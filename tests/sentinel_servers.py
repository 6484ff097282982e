"""A primary, its replica and sentinels watching them, on loopback, for tests.

    servers = SentinelServers(sentinels=1, replicas=2).start()
    servers.sentinel_addresses        # [(host, port)]
    servers.failover()                # SENTINEL FAILOVER; returns once promoted
    servers.primary()                 # the RedisServer that is primary now

Same binary as tests/redis_server.py (redis-server in sentinel mode: no
redis-sentinel binary needed). Quorum 1 and short timeouts, so a failover
takes about a second.
"""

import os
import time

from tests.redis_server import RedisServer

MASTER = "mymaster"


class SentinelServer(RedisServer):
    """redis-server --sentinel: its config file must come first and be writable."""

    def __init__(self, primary, quorum=1, down_after_ms=1000):
        super().__init__()
        self.primary = primary
        self.quorum = quorum
        self.down_after_ms = down_after_ms

    def _args(self, port):
        conf = os.path.join(self.directory, "sentinel.conf")
        with open(conf, "w") as f:
            f.write("sentinel monitor %s %s %d %d\n"
                    "sentinel down-after-milliseconds %s %d\n"
                    "sentinel failover-timeout %s 10000\n"
                    "sentinel parallel-syncs %s 1\n"
                    % (MASTER, self.primary.host, self.primary.port, self.quorum,
                       MASTER, self.down_after_ms, MASTER, MASTER))
        return [self.executable, conf, "--sentinel", "--bind", self.host, "--port", str(port),
                "--dir", self.data_dir, "--daemonize", "no",
                "--pidfile", os.path.join(self.directory, "redis.pid"),
                "--logfile", self.logfile]


class SentinelServers:
    def __init__(self, sentinels=1, replicas=2, down_after_ms=1000):
        self.nodes = [RedisServer()]
        self._count = sentinels
        self._replicas = replicas
        self._down_after_ms = down_after_ms
        self.sentinels = []

    def start(self, timeout=20.0):
        first = self.nodes[0].start()
        for _ in range(self._replicas):
            replica = RedisServer(extra_args=["--replicaof", first.host, str(first.port)])
            self.nodes.append(replica.start())
        self.wait_until(lambda: all(self._link_up(r) for r in self.nodes[1:]), timeout,
                        "the replicas to sync")
        for _ in range(self._count):
            self.sentinels.append(SentinelServer(first, down_after_ms=self._down_after_ms)
                                  .start())
        self.wait_until(self.ready, timeout, "the sentinels to see the replicas")
        return self

    @property
    def sentinel_addresses(self):
        return [(s.host, s.port) for s in self.sentinels]

    def primary_address(self):
        host, port = self.sentinels[0].command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER)
        return host, int(port)

    def primary(self):
        address = self.primary_address()
        for node in self.nodes:
            if (node.host, node.port) == address:
                return node
        raise AssertionError(f"no node at {address}")

    def failover(self, timeout=20.0):
        """SENTINEL FAILOVER; returns the new primary once the sentinel names it
        and it answers ROLE as master."""
        old = self.primary_address()
        self.sentinels[0].command("SENTINEL", "FAILOVER", MASTER)
        self.wait_until(lambda: self.primary_address() != old
                        and self.primary().command("ROLE")[0] == "master", timeout,
                        "the failover")
        return self.primary()

    def ready(self):
        """Every sentinel sees every replica as one it could promote."""
        return all(self._promotable(s) >= self._replicas for s in self.sentinels)

    def _link_up(self, replica):
        return replica.info("replication").get("master_link_status") == "up"

    def _promotable(self, sentinel):
        """Replicas the sentinel would promote: it has INFO from them, link up."""
        count = 0
        for fields in sentinel.command("SENTINEL", "REPLICAS", MASTER):
            replica = dict(zip(fields[::2], fields[1::2]))
            if replica.get("flags") == "slave" and replica.get("master-link-status") == "ok":
                count += 1
        return count

    @staticmethod
    def wait_until(condition, timeout, what):
        """Poll a condition of the servers (they announce nothing) until a deadline."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.05)

    def cleanup(self):
        for server in self.sentinels + self.nodes:
            server.cleanup()
