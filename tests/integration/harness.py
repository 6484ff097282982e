"""A whole router in the test process: real Redis, real TCP on loopback.

Router(...) writes a config and a routing table into a temp dir, starts a
SimulatedSMSC on a free port, and runs RouterService on the test's reactor;
`await harness.start()` returns once the router listens and its connector is
bound, so tests wait on events, never on time.
"""

import os
import tempfile

from twisted.internet import defer, reactor

from bench.esme import connect
from bench.smsc import SimulatedSMSC
from smpprouter.passwords import hash_password
from smpprouter.service import make_service
from tests.redis_server import shared

PASSWORDS = {"esme1": "pw1", "esme2": "pw2", "esme3": "pw3"}
_HASHES = {}


def password_hash(user):
    if user not in _HASHES:
        _HASHES[user] = hash_password(PASSWORDS[user])
    return _HASHES[user]


DEFAULT_ROUTES = """
[[mt]]
name = "us"
destination_prefix = ["1"]
connectors = ["smsc"]

[[mt]]
name = "blocked"
destination_prefix = ["999"]
reject = "ESME_RINVDSTADR"

[[mo]]
name = "shortcode"
destination = ["12345"]
user = "esme1"

[[mo]]
name = "keyword"
destination = ["5555"]
keyword = ["JOIN"]
user = "esme2"
"""


def write_config(directory, redis_url, smsc_port, *, routes=DEFAULT_ROUTES, users, connector="",
                 smpp="", redis="", extra="", http=None):
    """A router config and routing table for tests: one connector `smsc` to the
    simulator, the given users (name -> extra keys), fast reconnects; with http
    (the [http] table's lines, "" for the defaults) an HTTP listener too, whose
    webhooks may reach loopback."""
    user_tables = "".join('[users.%s]\npassword = "%s"\n%s\n' % (name, password_hash(name), more)
                          for name, more in users.items())
    config_path = os.path.join(directory, "smpprouter.toml")
    routes_path = os.path.join(directory, "routes.toml")
    with open(routes_path, "w") as f:
        f.write(routes)
    with open(config_path, "w") as f:
        f.write("""
[router]
name = "testrouter"
var_dir = "var"

[redis]
url = "%(url)s"
%(redis)s

[smpp]
%(smpp)s

[listeners.smpp]
endpoint = "tcp:0:interface=127.0.0.1"

[connectors.smsc]
host = "127.0.0.1"
port = %(smsc_port)d
system_id = "router"
password = "secret"
reconnect_min = 0.05
reconnect_max = 0.5
response_timeout = 10
%(connector)s

%(users)s
%(http)s
%(extra)s
""" % dict(url=redis_url, redis=redis, smpp=smpp, smsc_port=smsc_port, connector=connector,
           users=user_tables, extra=extra,
           http="" if http is None else _HTTP % http))
    return config_path, routes_path


_HTTP = """
[listeners.http]
endpoint = "tcp:0:interface=127.0.0.1"

[http]
webhook_allow = ["127.0.0.0/8", "::1/128"]
%s
"""


class RouterHarness:
    def __init__(self, *, routes=DEFAULT_ROUTES, connector="", users=None, smpp="",
                 smsc=None, extra="", smsc_tls=None, redis="", http=None):
        self.dir = tempfile.mkdtemp(prefix="smpprouter-test-")
        self.redis = shared()
        self.redis.command("FLUSHALL")
        self.smsc = SimulatedSMSC(**(smsc or {}))
        if smsc_tls is None:
            self.smsc.listen(0)
        else:   # the upstream speaks TLS with these server options
            self.smsc.port = reactor.listenSSL(0, self.smsc, smsc_tls, interface="127.0.0.1")
        self.smsc_port = self.smsc.port.getHost().port
        self.config_path, self.routes_path = write_config(
            self.dir, "redis://%s:%d/0" % (self.redis.host, self.redis.port), self.smsc_port,
            routes=routes, users=users or {"esme1": "", "esme2": "", "esme3": ""},
            connector=connector, smpp=smpp, redis=redis, extra=extra, http=http)
        self.service = None
        self.http_url = None   # "http://127.0.0.1:PORT" once started with http
        self.clients = []

    async def start(self, binds=1):
        self.service = make_service(self.config_path)
        self.service.startService()
        await self.service.started
        self.core = self.service.core
        self.port = self.service.ports["smpp"].getHost().port
        if "http" in self.service.ports:
            self.http_url = "http://127.0.0.1:%d" % self.service.ports["http"].getHost().port
        await self.core.connectors["smsc"].when_up(binds)
        return self

    async def second_router(self, test):
        """Another router on this config and Redis (worker 1: a consumer name
        of its own), its connector up; stopped when test ends."""
        second = make_service(self.config_path, worker=1)
        second.startService()
        await second.started
        test.addCleanup(second.stopService)
        await second.core.connectors["smsc"].when_up(1)
        return second

    async def bind(self, mode="transceiver", user="esme1", password=None, **kwargs):
        client = await connect("127.0.0.1", self.port, mode, user,
                               PASSWORDS[user] if password is None else password, **kwargs)
        self.clients.append(client)
        return client

    async def connect(self, **kwargs):
        client = await connect("127.0.0.1", self.port, **kwargs)
        self.clients.append(client)
        return client

    async def stop(self):
        for client in self.clients:
            if client.connected:
                client.abort()
                await client.wait_closed()
        if self.service is not None and self.service.running:
            await self.service.stopService()
        await defer.maybeDeferred(self.smsc.close)


def run(coroutine):
    return defer.Deferred.fromCoroutine(coroutine)


__all__ = ["RouterHarness", "run", "reactor"]
