"""A tiny pcap writer: TCP payloads between two loopback hosts, for tshark.

Only what the Wireshark cross-check needs: classic libpcap format, Ethernet
framing, IPv4 and TCP headers with correct lengths and checksums, a three-way
handshake so Wireshark sees a well-formed stream, and sequence / ack numbers
that advance with every payload.  One payload per frame, so frame N of the
capture holds exactly the N-th payload written after the handshake.
"""

import struct

_GLOBAL_HEADER = struct.Struct("<IHHiIII")
_RECORD_HEADER = struct.Struct("<IIII")
_IPV4 = struct.Struct(">BBHHHBBH4s4s")
_TCP = struct.Struct(">HHIIBBHHH")

LINKTYPE_ETHERNET = 1
ETHERTYPE_IPV4 = 0x0800
PROTO_TCP = 6
SYN, ACK, PSH = 0x02, 0x10, 0x08


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(">%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class _Endpoint:
    def __init__(self, mac: bytes, ip: bytes, port: int, isn: int):
        self.mac, self.ip, self.port, self.seq = mac, ip, port, isn


class TcpCapture:
    """One TCP connection, written as frames into a growing pcap byte string.

    ``client`` and ``server`` name the two directions; ``send(side, payload)``
    appends one PSH/ACK segment carrying the payload and returns its frame
    number (1-based, as Wireshark counts).
    """

    def __init__(self, client_ip="127.0.0.1", server_ip="127.0.0.2",
                 client_port=40000, server_port=2775, frames=None):
        self.client = _Endpoint(b"\x02\0\0\0\0\x01", bytes(map(int, client_ip.split("."))),
                                client_port, 1000)
        self.server = _Endpoint(b"\x02\0\0\0\0\x02", bytes(map(int, server_ip.split("."))),
                                server_port, 5000)
        self.frames = frames if frames is not None else []
        self._ip_id = 1
        self._handshake()

    def _handshake(self):
        c, s = self.client, self.server
        self._segment(c, s, SYN, b"", ack=0)
        c.seq += 1
        self._segment(s, c, SYN | ACK, b"", ack=c.seq)
        s.seq += 1
        self._segment(c, s, ACK, b"", ack=s.seq)

    def send(self, side: str, payload: bytes) -> int:
        src = self.client if side == "client" else self.server
        dst = self.server if side == "client" else self.client
        self._segment(src, dst, PSH | ACK, payload, ack=dst.seq)
        src.seq = (src.seq + len(payload)) & 0xFFFFFFFF
        return len(self.frames)

    def _segment(self, src, dst, flags, payload, ack):
        tcp = _TCP.pack(src.port, dst.port, src.seq, ack, 5 << 4, flags, 65535, 0, 0)
        pseudo = src.ip + dst.ip + struct.pack(">BBH", 0, PROTO_TCP, len(tcp) + len(payload))
        tcp = tcp[:16] + struct.pack(">H", _checksum(pseudo + tcp + payload)) + tcp[18:]
        total = 20 + len(tcp) + len(payload)
        ip = _IPV4.pack(0x45, 0, total, self._ip_id & 0xFFFF, 0x4000, 64, PROTO_TCP, 0,
                        src.ip, dst.ip)
        ip = ip[:10] + struct.pack(">H", _checksum(ip)) + ip[12:]
        self._ip_id += 1
        ether = dst.mac + src.mac + struct.pack(">H", ETHERTYPE_IPV4)
        self.frames.append(ether + ip + tcp + payload)


def pcap_bytes(frames) -> bytes:
    """The libpcap file holding frames, one microsecond apart."""
    out = [_GLOBAL_HEADER.pack(0xA1B2C3D4, 2, 4, 0, 0, 262144, LINKTYPE_ETHERNET)]
    for n, frame in enumerate(frames):
        out.append(_RECORD_HEADER.pack(1700000000, n, len(frame), len(frame)))
        out.append(frame)
    return b"".join(out)
