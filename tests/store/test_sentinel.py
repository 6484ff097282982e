"""RedisStore through three sentinels: both its connections (commands and the
notifier's subscriber) follow the primary through SENTINEL FAILOVER, whichever
sentinel leads it and whichever answers first."""

import atexit

from twisted.internet import defer
from twisted.trial import unittest

from smpprouter.store.redis import RedisStore
from smpprouter.store.sentinel import Sentinels, store_options
from smpprouter.config import RedisConfig
from tests.sentinel_servers import MASTER, SentinelServers

from .support import retry_until_ok, wait_for
from .test_redis import mapping

_servers = None


def servers():
    global _servers
    if _servers is None:
        _servers = SentinelServers(sentinels=3, replicas=1)   # the integration test has one
        atexit.register(_servers.cleanup)
        _servers.start()
    return _servers


def peer(factory):
    address = factory.pool[0].transport.getPeer()
    return address.host, address.port


class SentinelStoreTests(unittest.TestCase):
    timeout = 60

    def setUp(self):
        self.servers = servers()
        return wait_for(self.servers.ready, 20)

    @defer.inlineCallbacks
    def make_store(self, **kwargs):
        store = RedisStore(None, None, sentinels=Sentinels(self.servers.sentinel_addresses,
                                                           MASTER), **kwargs)
        yield store.start()
        self.addCleanup(store.stop)
        return store

    @defer.inlineCallbacks
    def test_both_connections_follow_a_failover(self):
        store = yield self.make_store()
        self.assertIn("mymaster via sentinels 127.0.0.1:", store.address)
        old = self.servers.primary_address()
        self.assertEqual(peer(store._factory), old)
        self.assertEqual(peer(store._notifier.factory), old)
        woken = []
        yield store.subscribe("acme", woken.append)
        self.servers.sentinels[0].command("SENTINEL", "FAILOVER", MASTER)
        yield wait_for(lambda: store._sentinels.switches == 1, 20)
        new = self.servers.primary_address()
        self.assertNotEqual(new, old)
        yield retry_until_ok(lambda: store.save_mapping("smsc", "after", mapping(), 60))
        self.assertEqual(peer(store._factory), new)
        self.assertEqual(self.servers.primary().command("EXISTS", "map:{smsc}:after"), 1)
        yield wait_for(lambda: store._notifier.factory.pool
                       and peer(store._notifier.factory) == new, 10)
        del woken[:]
        yield retry_until_ok(lambda: store.enqueue("acme", b"entry"))
        yield wait_for(lambda: "acme" in woken, 10)   # a PUBLISH on the new primary reached us



class OptionsTests(unittest.TestCase):
    def test_options_from_config(self):
        config = RedisConfig(url="", host=None, port=None, unix_socket=None, db=0,
                             username=None, password="data", max_queue=1, dlr_retention=1,
                             claim_idle=1, sentinels=(("h", 1), ("g", 2)), master="m",
                             sentinel_password="s", wait_replicas=1, wait_timeout=0.5)
        options = store_options(config)
        self.assertEqual((options["sentinels"].addresses, options["sentinels"].master,
                          options["wait_replicas"], options["wait_timeout"]),
                         ([("h", 1), ("g", 2)], "m", 1, 0.5))
        self.assertEqual(store_options(RedisConfig(
            url="redis://h", host="h", port=1, unix_socket=None, db=0, username=None,
            password=None, max_queue=1, dlr_retention=1, claim_idle=1)), {})
