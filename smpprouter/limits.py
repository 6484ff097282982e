"""Connections per listener: in total and per source address.

A public SMPP port is dialled by scanners and by clients stuck in reconnect
loops; each connection holds a socket and a session until session_init
passes. Beyond a listener's limits a new connection is closed at once,
before a TLS handshake or a byte of SMPP (buildProtocol returns None, which
Twisted answers by closing the socket), and counted. The first refusal after
accepting again is logged, not each one: a flood must not become a log flood.

Twisted's policies.LimitConnectionsByPeer would do the per-address half, but
it indexes the address as a tuple (addr[0]), which IPv4Address no longer is.
Nor is this a policies.WrappingFactory: its ProtocolWrapper would sit between
the transport and the session, one more Python call on every read and every
write of every PDU (about 2% of the synchronous path's CPU). The connection's
own protocol is handed out instead, its connectionLost told to count it out.
"""

from twisted.internet import protocol as _protocol
from twisted.logger import Logger


class ConnectionLimits(_protocol.Factory):
    log = Logger()
    noisy = False

    def __init__(self, wrapped, name, total=0, per_ip=0):
        """total, per_ip: 0 = unlimited."""
        self.wrappedFactory = wrapped
        self.name = name
        self.total = total
        self.per_ip = per_ip
        self.open = 0
        self.by_ip = {}     # host -> open connections
        self.counters = dict.fromkeys(("accepted", "refused_total", "refused_per_ip"), 0)
        self._quiet = False   # a refusal was logged since the last accepted connection

    def buildProtocol(self, addr):
        host = getattr(addr, "host", None)
        if self.total and self.open >= self.total:
            return self._refuse("refused_total", "%d connections open" % self.open)
        if self.per_ip and host is not None and self.by_ip.get(host, 0) >= self.per_ip:
            return self._refuse("refused_per_ip", "%d connections from %s" % (
                self.per_ip, host))
        protocol = self.wrappedFactory.buildProtocol(addr)
        if protocol is None:
            return None
        self.open += 1
        if host is not None:
            self.by_ip[host] = self.by_ip.get(host, 0) + 1
        lost = protocol.connectionLost

        def connection_lost(reason, lost=lost, host=host):
            self._closed(host)
            return lost(reason)
        protocol.connectionLost = connection_lost   # this connection's, once
        self.counters["accepted"] += 1
        self._quiet = False
        return protocol

    def _refuse(self, counter, why):
        self.counters[counter] += 1
        if not self._quiet:
            self._quiet = True
            self.log.warn("listener {name}: {why}; new connections are closed at once",
                          name=self.name, why=why)
        return None

    def doStart(self):
        self.wrappedFactory.doStart()

    def doStop(self):
        self.wrappedFactory.doStop()

    def _closed(self, host):
        self.open -= 1
        if host is not None:
            left = self.by_ip[host] - 1
            if left:
                self.by_ip[host] = left
            else:
                del self.by_ip[host]
