"""Builds the running router from its configuration, as one twistd service.

Start-up is ordered and asynchronous (Redis, possibly our own embedded one,
must answer before an id block can be taken, and listeners open last, once
everything a bind needs is ready), so RouterService runs it as a coroutine
and exposes `started`. Everything that can be checked without I/O (the
config file, the routing table) is checked in make_service, before twistd
daemonises, so a bad file stops start-up with a message naming it.
"""

import os
import signal
import socket

from twisted.application import service
from twisted.internet import defer
from twisted.logger import Logger
from twisted.protocols.tls import TLSMemoryBIOFactory

from .config import load_config
from .core.core import Core
from .core.delivery import Deliveries
from .ids import MessageIds
from .core.inbox import webhook_queue
from .http.door import Door
from .http.linktable import load_links
from .http.smartlinks import Smartlinks
from .http.site import make_site
from .limits import ConnectionLimits
from .http.webclient import WebhookClient
from .http.webhooks import WebhookSender
from .listen import listen
from .metrics.publish import Publisher
from .metrics.resource import metrics_site, resource_for
from .passwords import PasswordCache
from .protocol.esme import ESMEServerFactory
from .protocol.smsc import Connector
from .routing.table import make_router
from .tls import ServerTLS, server_tls_options
from .smpp.session import State, Timers
from .core.spooling import Spooling
from .store.embedded import HOST as EMBEDDED_HOST, EmbeddedRedis, stored_password
from .store.cluster import ClusterStore
from .store.redis import RedisStore
from .store.sentinel import store_options
from .store.spool import Spool
from .policy.content import load_content
from .tomlfile import ConfigError

def load_routes(config):
    routes = make_router(config.router.routing, config.router.routes)
    routes.check(set(config.connectors), set(config.users))
    return routes


class RouterService(service.MultiService):
    log = Logger()

    def __init__(self, config, routes, reactor=None, worker=None):
        super().__init__()
        # A worker is one of several processes serving the same listeners;
        # its number makes its Redis consumer name stable across restarts.
        self.worker = worker
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.config = config
        self.routes = routes
        # the REST API's smart links: read here (before twistd daemonises) and on reload
        self.links = load_links(config.http.links) if config.http.links else None
        # content rules (seed 002's 407): likewise read here and on reload
        self.content = (load_content(config.router.content, config.users)
                        if config.router.content else None)
        self.ports = {}
        self.factories = []
        self.limits = {}        # listener name -> ConnectionLimits
        self.tls = {}           # listener name -> ServerTLS (reloaded on SIGHUP)
        self._stopping = False
        self.core = None
        self.door = None
        self.metrics = None    # metrics.publish.Publisher, unless [metrics] enabled = false
        self.webhooks = None
        self.store = None
        self.embedded = None
        self.started = defer.Deferred()

    def startService(self):
        super().startService()
        d = defer.Deferred.fromCoroutine(self._start())
        d.addCallbacks(self._ready, self._failed)

    def _ready(self, _):
        self.started.callback(self)

    def _failed(self, failure):
        self.log.failure("smpprouter could not start", failure)
        self.started.errback(failure)
        if self.reactor.running:
            self.reactor.stop()

    async def _start(self):
        config, reactor = self.config, self.reactor
        redis = config.redis
        host, port, password = redis.host, redis.port, redis.password
        if redis.embedded:
            self.embedded = EmbeddedRedis(config.router.var_dir)
            host, port = await self.embedded.startService()
            password = self.embedded.password
            self.log.info("embedded Redis on {host}:{port}", host=host, port=port)
        elif password is None and host == EMBEDDED_HOST:
            # A supervisor's worker: its embedded Redis, named by url, no password.
            password = stored_password(config.router.var_dir, port)
        consumer = "%s@%s" % (config.router.name, socket.gethostname())
        if self.worker is not None:
            consumer += "#%d" % self.worker
        options = dict(reactor=reactor, max_outbound=config.outbound.max_queue,
                       instance=consumer, max_queue=redis.max_queue,
                       retention=redis.dlr_retention, username=redis.username,
                       retentions=_retentions(config))
        if redis.cluster:
            self.store = ClusterStore(redis.cluster, password, **options)
        else:
            self.store = RedisStore(host, port, redis.db, password,
                                    unix_socket=redis.unix_socket, **options,
                                    **store_options(redis))
        await self.store.start()
        # one block for the long ids, one for v3.3 sessions' short ones (ids.py)
        block, short_block = await defer.gatherResults(
            [self.store.allocate_id_block(), self.store.allocate_id_block()])
        ids = MessageIds(block, self.store.allocate_id_block, short_block=short_block)
        deliveries = Deliveries(self.store, reactor, consumer,
                                claim_idle=config.redis.claim_idle)
        deliveries.start()
        self.core = Core(config, self.routes, self.store, ids, deliveries, reactor,
                         PasswordCache(), instance=consumer)
        if self.content is not None:
            self.core.mt.use_content(self.content)
        if redis.spool_max:
            name = "spool-%d.bin" % (self.worker or 0)
            spool = Spool(os.path.join(config.router.var_dir, name), redis.spool_max, reactor)
            self.core.use_spool(Spooling(spool, self.store, reactor, self.core.counters))
        for connector_config in config.connectors.values():
            connector = Connector(connector_config, self.core, reactor,
                                  metrics=config.metrics.enabled)
            self.core.add_connector(connector)
            connector.setServiceParent(self)
        self.core.start()
        if config.metrics.enabled:
            self.metrics = Publisher(self.core, self.store, reactor, consumer, config)
            await self.metrics.start()
        # One sender per process: it delivers the webhook queues whose lease it holds.
        client = WebhookClient(reactor, allow=config.http.webhook_allow,
                               timeout=config.http.webhook_timeout,
                               concurrency=config.http.webhook_concurrency)
        self.webhooks = WebhookSender(self.store, config, reactor, consumer, client)
        self.webhooks.start()
        smpp = config.smpp
        timers = Timers(session_init=smpp.session_init_timeout or None,
                        enquire_link=smpp.enquire_link_interval or None,
                        inactivity=smpp.inactivity_timeout or None,
                        response=smpp.response_timeout or None)
        self.door = Door(config, self.core, self.store, self.core.admission.passwords)
        if self.links is not None:
            self.door.links = Smartlinks(self.store, config.http.link_base, self.links,
                                         config.users)
        for listener in config.listeners.values():
            if listener.protocol == "http":
                factory = make_site(self.door, config, reactor, metrics=None if self.metrics
                                    is None else resource_for(self.metrics))
            elif listener.protocol == "metrics":
                factory = metrics_site(self.metrics, config, reactor)
            else:
                factory = ESMEServerFactory(self.core, reactor, timers, smpp.window,
                                            smpp.max_pdu_length)
                self.factories.append(factory)
            if listener.tls is not None:
                tls = self.tls[listener.name] = ServerTLS(listener.tls)
                factory = TLSMemoryBIOFactory(tls, False, factory)
            if listener.max_connections or listener.max_connections_per_ip:
                factory = self.limits[listener.name] = ConnectionLimits(
                    factory, listener.name, listener.max_connections,
                    listener.max_connections_per_ip)
            self.ports[listener.name] = port = await listen(
                reactor, listener.endpoint, factory, reuse_port=self.worker is not None)
            address = port.getHost()
            self.log.info("listener {name} on {host}:{port}{tls}", name=listener.name,
                          host=getattr(address, "host", address), port=getattr(address, "port", ""),
                          tls=" (TLS)" if listener.tls else "")

    def install_reload_signal(self):
        """SIGHUP reloads the routing table and the smart links. Installed
        before the reactor runs: a SIGHUP arriving while the router starts must
        not take the default action, which kills the process."""
        signal.signal(signal.SIGHUP, lambda *_: self.reactor.callFromThread(self.reload))

    def reload(self):
        """Swap in the routing table, the smart links and the listeners'
        certificates from disk; a broken one is refused and logged, the old
        one stays. Sessions open keep the certificate they were made with."""
        for name, tls in self.tls.items():
            try:
                tls.reload()
            except Exception as e:
                self.log.error("certificate of listener {name} not reloaded, the old one "
                               "stays: {error}", name=name, error=e)
            else:
                self.log.info("certificate of listener {name} reloaded from {path}",
                              name=name, path=tls.tls.certificate)
        if self.config.http.links:
            self._reload_links(self.config.http.links)
        if self.config.router.content:
            self._reload_content(self.config.router.content)
        try:
            routes = load_routes(self.config)
        except ConfigError as e:
            self.log.error("routing table not reloaded, the old one stays: {error}", error=e)
            return False
        self.routes = routes
        if self.core is not None:
            self.core.routes = routes
        self.log.info("routing table reloaded from {path}", path=self.config.router.routes)
        return True

    def _reload_content(self, path):
        try:
            content = load_content(path, self.config.users)
        except ConfigError as e:
            self.log.error("content rules not reloaded, the old ones stay: {error}", error=e)
            return
        self.content = content
        if self.core is not None:
            self.core.mt.use_content(content)
        self.log.info("content rules reloaded from {path}", path=path)

    def _reload_links(self, path):
        try:
            table = load_links(path)
        except ConfigError as e:
            self.log.error("smart links not reloaded, the old ones stay: {error}", error=e)
            return
        self.links = table
        if self.door is not None and self.door.links is not None:
            self.door.links.table = table
        self.log.info("smart links reloaded from {path}", path=path)

    async def _stop(self):
        ports, self.ports = self.ports, {}
        for port in ports.values():
            await defer.maybeDeferred(port.stopListening)
        if self.core is not None:
            self.core.stop()
            await self._drain(self.config.smpp.shutdown_timeout)
            self.core.deliveries.stop()
        if self.webhooks is not None:
            await self.webhooks.stop()   # undelivered webhooks stay in Redis
        await defer.maybeDeferred(super().stopService)
        if self.core is not None and self.core.spooling is not None:
            self.core.spooling.stop()   # after the connectors: nothing more to keep
        if self.metrics is not None:
            await self.metrics.stop()
        if self.store is not None:
            await self.store.stop()
        if self.embedded is not None:
            await self.embedded.stopService()

    async def _drain(self, timeout):
        """Unbind every ESME session and let what is in flight finish, for at
        most `timeout` seconds; then cut what is left. Undelivered receipts
        stay in Redis for the user's next session, here or elsewhere."""
        sessions = [p for f in self.factories for p in list(f.live)]
        if not sessions:
            return
        self.log.info("unbinding {n} session(s)", n=len(sessions))
        waits = [defer.Deferred.fromCoroutine(p.shutdown()) for p in sessions]
        done = defer.DeferredList(waits, consumeErrors=True)
        if timeout:
            done.addTimeout(timeout, self.reactor)
        try:
            await done
        except defer.TimeoutError:
            self.log.warn("sessions still busy after {t} s: closing them", t=timeout)
        for proto in sessions:
            if proto.transport is not None and proto.session.state is not State.CLOSED:
                proto.transport.abortConnection()

    def stopService(self):
        if self._stopping:
            return defer.succeed(None)   # twistd and a test may both ask
        self._stopping = True
        return defer.Deferred.fromCoroutine(self._stop())


def _retentions(config):
    """Each queue's retention where it is not [redis] dlr_retention: users' own,
    and every user's webhook queue ([http] webhook_retention or the user's)."""
    retentions = {u.name: u.dlr_retention for u in config.users.values() if u.dlr_retention}
    for u in config.users.values():
        retentions[webhook_queue(u.name)] = (u.webhook_retention
                                             or config.http.webhook_retention)
    return retentions


def make_service(config_path, overrides=None, reactor=None, worker=None):
    """The service twistd runs; raises ConfigError for a bad file."""
    config = load_config(config_path, overrides)
    os.makedirs(config.router.var_dir, exist_ok=True)
    return RouterService(config, load_routes(config), reactor, worker)
