"""A peer on the far side of a StringTransport: it writes PDUs as bytes and
reads back what the protocol wrote, through the codec, so every test sees
the wire and not the objects."""

from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransportWithDisconnection

from smpprouter.smpp import codec


def connect(proto):
    transport = StringTransportWithDisconnection(
        peerAddress=IPv4Address("TCP", "192.0.2.1", 40000))
    transport.protocol = proto
    proto.makeConnection(transport)
    return Peer(proto, transport)


class Peer:
    def __init__(self, proto, transport, version=0x34):
        self.proto = proto
        self.transport = transport
        self.version = version
        self._seq = 0

    def send(self, *pdus):
        """Write PDUs in one chunk; each request gets the next sequence number
        unless it has one."""
        data = b""
        for pdu in pdus:
            if not pdu.sequence_number and not pdu.command_id & 0x80000000:
                self._seq += 1
                pdu.sequence_number = self._seq
            data += codec.encode(pdu, self.version)
        self.proto.dataReceived(data)
        return pdus[-1].sequence_number if pdus else None

    def read(self):
        """Every PDU written since the last read, decoded."""
        data = self.transport.value()
        self.transport.clear()
        pdus, pos = [], 0
        while pos < len(data):
            pdu, used = codec.decode(data, pos, version=self.version)
            pdus.append(pdu)
            pos += used
        return pdus

    def read_one(self):
        pdus = self.read()
        assert len(pdus) == 1, pdus
        return pdus[0]

    @property
    def paused(self):
        return self.transport.producerState == "paused"

    @property
    def closing(self):
        return not self.transport.connected
