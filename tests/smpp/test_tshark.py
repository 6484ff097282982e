"""Cross-check the codec against an independent SMPP decoder: Wireshark.

Every PDU below is encoded by our codec, written as the TCP payload of one
frame of a pcap (tests/smpp/pcap.py), and dissected by tshark in a single
run.  For each frame, Wireshark's field values must equal ours: header, every
mandatory field in wire order, the short message, each TLV's tag, length and
value, and Wireshark must report no malformed packet and no warning or error
in its expert info.  A truncated PDU on a second connection shows that the
harness does see Wireshark's complaints, and a deliberately wrong
expectation shows that the field comparison does see disagreements.

tshark is required in CI (the test fails there without it) and optional
elsewhere (the test skips with the reason).
"""

import dataclasses
import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from unittest import SkipTest

from twisted.trial.unittest import SynchronousTestCase

from smpprouter.smpp import codec
from smpprouter.smpp import pdu as P
from smpprouter.smpp import tlv as T
from smpprouter.smpp.commands import is_response
from smpprouter.smpp.status import Status

from .pcap import TcpCapture, pcap_bytes

SMPP_PORT = 2775
# Wireshark's expert severities (epan/proto.h: PI_WARN, PI_ERROR).
SEVERITY_WARN = 0x00600000
SEVERITY_ERROR = 0x00800000

_RECEIPT = (b"id:0123456789abcdef sub:001 dlvrd:001 submit date:2401011200 "
            b"done date:2401011201 stat:DELIVRD err:000 text:Hello")


def _cases():
    """(side sending it, PDU): at least one of every type, many TLVs."""
    intl = dict(source_addr_ton=1, source_addr_npi=1)
    dest = dict(dest_addr_ton=1, dest_addr_npi=1)
    return [
        ("client", P.BindTransmitter(0, 1, "smppclient1", "password", "VMA", 0x34, 1, 1, "^44")),
        ("server", P.BindTransmitterResp(0, 1, "SMSC")),
        ("client", P.BindReceiver(0, 2, "rx", "pw", "", 0x34, 0, 0, "")),
        ("server", P.BindReceiverResp(Status.ESME_RBINDFAIL, 2)),
        ("client", P.BindTransceiver(0, 3, "trx", "secret")),
        ("server", P.BindTransceiverResp(0, 3, "SMSC", {"sc_interface_version": 0x34})),
        ("server", P.Outbind(0, 4, "SMSC", "pw")),
        ("client", P.EnquireLink(0, 5)),
        ("server", P.EnquireLinkResp(0, 5)),
        ("client", P.SubmitSm(
            0, 6, source_addr_ton=5, source_addr="Brand", **dest,
            destination_addr="447700900123", esm_class=0x40, registered_delivery=1,
            short_message=b"\x05\x00\x03\x2a\x02\x01Hello",
            tlvs={"pe_id": "1201159176234567890", "template_id": "1207161234567890123",
                  0x1500: b"\x01\x02\x03"})),
        ("server", P.SubmitSmResp(0, 6, "msg-0001")),
        ("client", P.SubmitSm(
            0, 7, service_type="CMT", **intl, source_addr="447700900123", **dest,
            destination_addr="447700900456", priority_flag=1, protocol_id=0x00,
            schedule_delivery_time="240101120000004+", validity_period="000001000000000R",
            registered_delivery=0x11, replace_if_present_flag=1, data_coding=8,
            short_message="h\u00e9llo".encode("utf-16-be"),
            tlvs={"sar_msg_ref_num": 0x0102, "sar_total_segments": 2, "sar_segment_seqnum": 1,
                  "source_port": 9200, "destination_port": 2948, "user_message_reference": 7,
                  "qos_time_to_live": 3600, "payload_type": 0, "privacy_indicator": 1,
                  "language_indicator": 2, "ms_validity": 1, "set_dpf": 1,
                  "source_telematics_id": 1, "dest_telematics_id": 2,
                  "tm_id": "1402000000001"})),
        ("server", P.SubmitSmResp(Status.ESME_RTHROTTLED, 7)),
        ("server", P.DeliverSm(
            0, 8, **intl, source_addr="447700900123", dest_addr_ton=5,
            destination_addr="Brand", esm_class=0x04, short_message=_RECEIPT,
            tlvs={"receipted_message_id": "0123456789abcdef", "message_state": 2,
                  "network_error_code": T.NetworkErrorCode(3, 0x0022), 0x1500: b"\xff"})),
        ("client", P.DeliverSmResp(0, 8)),
        ("server", P.DeliverSm(
            0, 9, **intl, source_addr="447700900123", **dest, destination_addr="12345",
            short_message=b"STOP", tlvs={"user_message_reference": 12})),
        ("client", P.DeliverSmResp(0, 9, "")),
        ("client", P.SubmitMulti(
            0, 10, **intl, source_addr="12345",
            dest_addresses=(P.SmeDest(1, 1, "447700900123"), P.DistributionList("friends"),
                            P.SmeDest(0, 0, "447700900124")),
            esm_class=0x03, registered_delivery=1, short_message=b"Hi all")),
        ("server", P.SubmitMultiResp(
            0, 10, "m1", (P.UnsuccessSme(1, 1, "447700900124", Status.ESME_RSUBMITFAIL),))),
        ("client", P.DataSm(
            0, 11, **intl, source_addr="447700900123", **dest,
            destination_addr="447700900456", registered_delivery=1, data_coding=4,
            tlvs={"message_payload": bytes(range(256)) + b"x" * 44,
                  "sar_msg_ref_num": 5, "sar_total_segments": 2, "sar_segment_seqnum": 1,
                  "more_messages_to_send": 1})),
        ("server", P.DataSmResp(
            0, 11, "abc",
            {"delivery_failure_reason": 1, "additional_status_info_text": "no route",
             "dpf_result": 0})),
        ("client", P.QuerySm(0, 12, "12345", 1, 1, "447700900123")),
        ("server", P.QuerySmResp(0, 12, "12345", "240101120000004+", 2, 0)),
        ("client", P.CancelSm(0, 13, "", "12345", 1, 1, "447700900123", 1, 1, "447700900456")),
        ("server", P.CancelSmResp(0, 13)),
        ("client", P.ReplaceSm(
            0, 14, "12345", 1, 1, "447700900123", "", "000001000000000R", 1, 0, b"Hello")),
        ("server", P.ReplaceSmResp(0, 14)),
        ("server", P.AlertNotification(
            0, 15, 1, 1, "447700900123", 1, 1, "8888", {"ms_availability_status": 0})),
        ("client", P.Unbind(0, 16)),
        ("server", P.UnbindResp(0, 16)),
        ("server", P.GenericNack(Status.ESME_RINVCMDID, 17)),
        ("client", P.DataSm(0, 18, tlvs=every_known_tlv())),
    ]


def every_known_tlv():
    """Each TLV of tlv.SPECS once, each with a value no other one has."""
    tlvs = {}
    for n, (name, (_tag, kind, limit)) in enumerate(T.SPECS.items(), 1):
        if kind == T.U8:
            value = n
        elif kind == T.U16:
            value = 0x0100 + n
        elif kind == T.U32:
            value = 0x01020300 + n
        elif kind == T.CSTR:
            value = "v%d" % n
        elif kind == T.OCTETS:
            value = bytes(range(n, n + max(limit[0], 3)))
        elif kind == T.TEXT:
            value = "1%018d" % n
        elif kind == T.NETERR:
            value = T.NetworkErrorCode(3, 0x0100 + n)
        else:  # FLAG
            value = n
        tlvs[name] = value
    return tlvs


# A submit_sm whose command_length (21) is honest about the segment but whose
# body stops after dest_addr_ton: Wireshark must call it malformed.
TRUNCATED_SUBMIT_SM = bytes.fromhex(
    "00000015 00000004 00000000 00000063"  # header, length 21, seq 99
    "00 00 00 00 00"                        # service_type, source ton/npi/addr, dest ton
)

TSHARK = shutil.which("tshark")


def require_tshark(testcase):
    if TSHARK is None:
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            testcase.fail("tshark is not installed: CI requires the Wireshark cross-check "
                          "(.ci/run installs it with apt-get)")
        raise SkipTest("tshark is not installed; install Wireshark's tshark to run the "
                       "independent cross-check of the codec")


_RESULT = []


def dissect():
    """Run tshark once over every case (cached).

    Returns ({frame number: PDML <packet> element}, [(frame number, PDU)],
    the frame number of TRUNCATED_SUBMIT_SM).
    """
    if _RESULT:
        return _RESULT[0]
    cases = _cases()
    capture = TcpCapture(server_port=SMPP_PORT)
    frames = [(capture.send(side, codec.encode(obj)), obj) for side, obj in cases]
    broken = TcpCapture(client_port=40001, server_port=SMPP_PORT, frames=capture.frames)
    broken_frame = broken.send("client", TRUNCATED_SUBMIT_SM)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "smpp.pcap")
        with open(path, "wb") as f:
            f.write(pcap_bytes(capture.frames))
        env = dict(os.environ, WIRESHARK_CONFIG_DIR=tmp, HOME=tmp)
        run = subprocess.run(
            [TSHARK, "-n", "-r", path, "-d", "tcp.port==%d,smpp" % SMPP_PORT,
             "-o", "tcp.desegment_tcp_streams:TRUE", "-o", "tcp.check_checksum:TRUE",
             "-o", "ip.check_checksum:TRUE", "-T", "pdml"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=60, check=False)
    if run.returncode != 0:
        raise AssertionError("tshark failed (%d): %s" % (run.returncode, run.stderr[-2000:]))
    packets = {}
    for packet in ET.fromstring(_xml_safe(run.stdout)).iter("packet"):
        number = next(int(f.get("show")) for f in packet.iter("field") if f.get("name") == "num")
        packets[number] = packet
    _RESULT.append((packets, frames, broken_frame))
    return _RESULT[0]


# PDML carries decoded message text verbatim, and text decoded from arbitrary
# octets may hold characters XML 1.0 forbids; the hex values we compare do not.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_safe(pdml: bytes) -> str:
    return _NOT_XML.sub("\ufffd", pdml.decode("utf-8", "replace"))


# --- reading Wireshark's view ------------------------------------------------

def _fields(element):
    return [child for child in element if child.tag == "field"]


def _smpp(packet):
    protos = [p for p in packet if p.tag == "proto" and p.get("name") == "smpp"]
    if len(protos) != 1:
        raise AssertionError("expected one SMPP PDU in the frame, found %d" % len(protos))
    return protos[0]


def _raw(field):
    return bytes.fromhex(field.get("value") or "")


def _int(field):
    """The octet(s) behind an integer field; bitmask fields carry them unmasked."""
    return int(field.get("unmaskedvalue") or field.get("value"), 16)


def expert_problems(packet):
    """Malformed markers and expert infos of severity warning or worse."""
    problems = []
    for proto in packet.iter("proto"):
        if proto.get("name") == "_ws.malformed":
            problems.append(proto.get("showname"))
    for field in packet.iter("field"):
        if field.get("name") == "_ws.expert":
            severity = next((int(f.get("show")) for f in field.iter("field")
                             if f.get("name") == "_ws.expert.severity"), 0)
            if severity >= SEVERITY_WARN:
                problems.append(field.get("showname"))
    return problems


# Wireshark names a mandatory field "smpp." + our name, except for these: the
# times (named after whether they are absolute or relative, and in
# submit_multi's validity_period after the wrong field), the bitmask octets it
# splits into sub-fields, and the short message and destination lists.
_TIME_FIELDS = ("schedule_delivery_time", "validity_period", "final_date")
_WS_TIMES = {"smpp.%s%s" % (n, r) for n in _TIME_FIELDS for r in ("", "_r")}
_WS_CANONICAL = {
    "smpp.esm.submit.msg_mode": "esm_class",
    "smpp.regdel.receipt": "registered_delivery",
    "smpp.message": "short_message",
    "smpp.dlist": "dest_addresses",
    "smpp.dlist_resp": "unsuccess_smes",
}
# Sub-bits of a field already taken whole, and what is not a mandatory field.
_WS_IGNORED = {
    "smpp.esm.submit.msg_type", "smpp.esm.submit.features", "smpp.regdel.acks",
    "smpp.regdel.notif", "smpp.opt_params", "smpp.message_text",
    "smpp.command_length", "smpp.command_id", "smpp.command_status", "smpp.sequence_number",
}

# TLVs whose one value field Wireshark names other than "smpp." + ours.
_TLV_WS = {
    "sc_interface_version": "smpp.SC_interface_version",
    "receipted_message_id": "smpp.receipted_message_id",
    "additional_status_info_text": "smpp.additional_status_info_text",
    "message_payload": "smpp.message_payload",
}

# TLVs Wireshark splits into several fields (or none): how to read ours back.
_TLV_COMPOUND = {
    "network_error_code": lambda f: T.NetworkErrorCode(
        int(f["smpp.network_error.type"].get("show")),
        int(f["smpp.network_error.code"].get("show"), 0)),
    "ms_msg_wait_facilities": lambda f: _int(f["smpp.msg_wait.ind"]),
    "callback_num_pres_ind": lambda f: _int(f["smpp.callback_num.pres"]),
    "its_session_info": lambda f: (int(f["smpp.its_session.number"].get("show")) << 8
                                   | _int(f["smpp.its_session.sequence"])),
    "alert_on_message_delivery": lambda f: (
        True if "smpp.alert_on_message_delivery_null" in f
        else int(f["smpp.alert_on_message_delivery_type"].get("show"))),
}
# TLVs Wireshark shows as a label without a value: tag and length are all it checks.
_TLV_LABEL_ONLY = {"callback_num", "callback_num_atag"}


def _ws_mandatory(proto):
    """Wireshark's mandatory fields as (our name, element), in wire order."""
    out = []
    for field in _fields(proto):
        name = field.get("name")
        if name in _WS_IGNORED:
            continue
        if name in _WS_TIMES:
            out.append(("time", field))
        elif name in _WS_CANONICAL:
            out.append((_WS_CANONICAL[name], field))
        elif name.startswith("smpp."):
            out.append((name[5:], field))
        else:
            out.append((name or field.get("show"), field))
    return out


def _expected_mandatory(obj, wire):
    """Our mandatory fields as (name, value), in LAYOUT (wire) order."""
    if len(wire) == codec.HEADER_SIZE:
        return []
    out = []
    for kind, name, _size, _status in obj.LAYOUT:
        value = getattr(obj, name)
        if kind == P.SM:
            out.append(("sm_length", len(value)))
            if value:
                out.append(("short_message", value))
        elif name in _TIME_FIELDS:
            out.append(("time", value))
        else:
            out.append((name, value))
    return out


def _compare_value(name, expected, field):
    """None if Wireshark's field shows our value, else the disagreement."""
    if name == "sm_length":
        actual = int(field.get("show"))
    elif name == "short_message":
        actual = _raw(field)
    elif isinstance(expected, str):
        expected = expected.encode("latin-1") + b"\0"
        actual = _raw(field)
    elif name == "dest_addresses":
        actual = _ws_dests(field)
    elif name == "unsuccess_smes":
        actual = _ws_unsuccess(field)
    else:
        actual = _int(field)
    if actual != expected:
        return "%s: ours %r, Wireshark %r" % (name, expected, actual)
    return None


def _ws_dests(dlist):
    """submit_multi's destinations as Wireshark lists them.

    Wireshark shows no field for an empty address, so an SME address is
    complete at the next dest_addr_ton, list name or the end of the list.  An
    empty list name leaves no trace at all: the cases have none.
    """
    dests, pending = [], []

    def flush(addr=""):
        if pending:
            dests.append(P.SmeDest(*pending, addr))
            pending.clear()

    for field in _fields(dlist):
        name = field.get("name")
        if name == "smpp.dest_addr_ton":
            flush()
            pending.append(_int(field))
        elif name == "smpp.dest_addr_npi":
            pending.append(_int(field))
        elif name == "smpp.destination_addr":
            flush(_raw(field)[:-1].decode("latin-1"))
        elif name == "smpp.dl_name":
            flush()
            dests.append(P.DistributionList(_raw(field)[:-1].decode("latin-1")))
    flush()
    return tuple(dests)


def _ws_unsuccess(dlist):
    """submit_multi_resp's failed destinations (again, an empty address has no field)."""
    entries, address = [], {}
    for field in _fields(dlist):
        name = field.get("name")
        if name in ("smpp.dest_addr_ton", "smpp.dest_addr_npi"):
            address[name] = _int(field)
        elif name == "smpp.destination_addr":
            address[name] = _raw(field)[:-1].decode("latin-1")
        elif name == "smpp.error_status_code":
            entries.append(P.UnsuccessSme(
                address.get("smpp.dest_addr_ton"), address.get("smpp.dest_addr_npi"),
                address.get("smpp.destination_addr", ""), _int(field)))
            address = {}
    return tuple(entries)


def _expected_tlvs(obj):
    """Our TLVs as (tag, length, name or None, value), in wire order."""
    out = []
    for key, value in getattr(obj, "tlvs", {}).items():
        if isinstance(key, int):
            out.append((key, len(value), None, bytes(value)))
            continue
        tag, kind, _limit = T.SPECS[key]
        if kind in (T.U8, T.U16, T.U32, T.NETERR):
            length = {T.U8: 1, T.U16: 2, T.U32: 4, T.NETERR: 3}[kind]
        elif kind == T.CSTR:
            length = len(value.encode("latin-1")) + 1
        elif kind == T.TEXT:
            length = len(value.encode("latin-1"))
        elif kind == T.FLAG:
            length = 0 if value is True else 1
        else:
            length = len(value)
        out.append((tag, length, key, value))
    return out


def _compare_tlv(tag, name, value, values):
    """Compare one TLV's value with the fields Wireshark put under it."""
    by_name = {f.get("name"): f for f in values}
    if name is None or T.SPECS[name][1] == T.TEXT:
        # Unknown and vendor (DLT) tags: Wireshark keeps the raw octets too.
        field = by_name.get("smpp.vendor_op")
        expected = value if name is None else value.encode("latin-1")
        actual = None if field is None else _raw(field)
    elif name in _TLV_LABEL_ONLY:
        expected, actual = "smpp." + name, "smpp." + name if "smpp." + name in by_name else None
    elif name in _TLV_COMPOUND:
        expected = value
        try:
            actual = _TLV_COMPOUND[name](by_name)
        except KeyError as e:
            actual = "no field %s" % e
    elif T.SPECS[name][1] == T.CSTR:
        field = by_name.get(_TLV_WS.get(name, "smpp." + name))
        expected, actual = value, None if field is None else field.get("show")
    elif T.SPECS[name][1] == T.OCTETS:
        field = by_name.get(_TLV_WS.get(name, "smpp." + name))
        expected, actual = value, None if field is None else _raw(field)
    else:
        field = by_name.get(_TLV_WS.get(name, "smpp." + name))
        expected, actual = value, None if field is None else int(field.get("show"), 0)
    if actual != expected:
        return "TLV 0x%04X %s: ours %r, Wireshark %r (fields %s)" % (
            tag, name, expected, actual, sorted(by_name))
    return None


def disagreements(obj, wire, packet):
    """Every way Wireshark's dissection of packet differs from obj (encoded as wire)."""
    proto = _smpp(packet)
    top = {f.get("name"): f for f in _fields(proto)}
    problems = []

    def check(what, ours, theirs):
        if ours != theirs:
            problems.append("%s: ours %r, Wireshark %r" % (what, ours, theirs))

    check("command_length", len(wire), int(top["smpp.command_length"].get("show")))
    check("command_id", obj.command_id, int(top["smpp.command_id"].get("show"), 0))
    check("sequence_number", obj.sequence_number,
          int(top["smpp.sequence_number"].get("show")))
    if is_response(obj.command_id):
        check("command_status", obj.command_status,
              int(top["smpp.command_status"].get("show"), 0))

    theirs = _ws_mandatory(proto)
    if is_response(obj.command_id) and obj.command_status:
        # Wireshark leaves the body of an error response undissected.
        check("fields of an error response", [], [n for n, _ in theirs])
        return problems
    ours = _expected_mandatory(obj, wire)
    position = 0
    for name, value in ours:
        if position < len(theirs) and theirs[position][0] == name:
            problem = _compare_value(name, value, theirs[position][1])
            if problem:
                problems.append(problem)
            position += 1
        elif value not in ("", ()):
            # Only an empty C-Octet String or list may be missing: Wireshark
            # does not show those.
            problems.append("%s: ours %r, Wireshark has no such field here (%s)"
                            % (name, value, [n for n, _ in theirs[position:]]))
    if theirs[position:]:
        problems.append("Wireshark has fields we did not send: %s"
                        % [n for n, _ in theirs[position:]])

    params = [f for f in _fields(top["smpp.opt_params"]) if f.get("name") == "smpp.opt_param"] \
        if "smpp.opt_params" in top else []
    expected = _expected_tlvs(obj)
    check("TLV tags and lengths", [(tag, length) for tag, length, _, _ in expected],
          [(int(p[0].get("show"), 16), int(p[1].get("show"))) for p in
           (_fields(param) for param in params)])
    for (tag, _, name, value), param in zip(expected, params):
        problem = _compare_tlv(tag, name, value, _fields(param)[2:])
        if problem:
            problems.append(problem)

    if getattr(obj, "data_coding", None) == 8 and getattr(obj, "short_message", b""):
        try:
            text = obj.short_message.decode("utf-16-be")
        except UnicodeDecodeError:
            pass
        else:
            check("UCS2 text", text, top["smpp.message_text"].get("show")
                  if "smpp.message_text" in top else None)
    return problems


class WiresharkCrossCheckTests(SynchronousTestCase):
    """Wireshark's SMPP dissector reads our bytes as we meant them."""

    maxDiff = None

    def setUp(self):
        require_tshark(self)
        self.packets, self.frames, self.broken_frame = dissect()

    def test_casesCoverEveryPduType(self):
        self.assertEqual({type(obj) for _, obj in self.frames}, set(P.ALL))

    def test_casesRoundTrip(self):
        for _, obj in self.frames:
            self.assertEqual(codec.decode(codec.encode(obj)), (obj, len(codec.encode(obj))))

    def test_everyFieldAgrees(self):
        problems = {}
        for number, obj in self.frames:
            found = disagreements(obj, codec.encode(obj), self.packets[number])
            if found:
                problems["frame %d %s" % (number, type(obj).__name__)] = found
        self.assertEqual(problems, {})

    def test_noMalformedOrExpertWarnings(self):
        problems = {}
        for number, obj in self.frames:
            found = expert_problems(self.packets[number])
            if found:
                problems["frame %d %s" % (number, type(obj).__name__)] = found
        self.assertEqual(problems, {})

    def test_handshakeAndChecksumsClean(self):
        """The pcap writer itself: no frame before the PDUs upsets Wireshark."""
        first = self.frames[0][0]
        for number in range(1, first):
            self.assertEqual(expert_problems(self.packets[number]), [], number)

    def test_receiptAsWiresharkSeesIt(self):
        number, obj = next((n, o) for n, o in self.frames if type(o) is P.DeliverSm)
        proto = _smpp(self.packets[number])
        shown = {f.get("name"): f for f in proto.iter("field")}
        self.assertEqual(_int(shown["smpp.esm.submit.msg_type"]), 0x04)
        self.assertEqual(shown["smpp.receipted_message_id"].get("show"), "0123456789abcdef")
        self.assertEqual(shown["smpp.message_state"].get("show"), "2")
        self.assertEqual(_raw(shown["smpp.message"]), obj.short_message)

    def test_udhAsWiresharkSeesIt(self):
        """Wireshark's GSM SMS layer finds the concatenation IE where we put it."""
        number = next(n for n, o in self.frames if getattr(o, "esm_class", 0) & 0x40)
        shown = {f.get("name"): f.get("show") for f in self.packets[number].iter("field")}
        self.assertEqual((shown["gsm_sms.udh.mm.msg_id"], shown["gsm_sms.udh.mm.msg_parts"],
                          shown["gsm_sms.udh.mm.msg_part"]), ("42", "2", "1"))


class HarnessCanFailTests(SynchronousTestCase):
    """The checks above are able to fail: they see what is wrong."""

    def setUp(self):
        require_tshark(self)
        self.packets, self.frames, self.broken_frame = dissect()

    def test_truncatedPduIsMalformed(self):
        problems = expert_problems(self.packets[self.broken_frame])
        self.assertTrue(any("Malformed" in p for p in problems), problems)

    def test_wrongExpectationsAreReported(self):
        number, obj = next((n, o) for n, o in self.frames if type(o) is P.DeliverSm)
        wire = codec.encode(obj)
        wrong = dataclasses.replace(
            obj, destination_addr="Brane", esm_class=0x00,
            tlvs=dict(obj.tlvs, receipted_message_id="0123456789abcdeF"))
        found = disagreements(wrong, wire, self.packets[number])
        self.assertEqual(len(found), 3, found)
        self.assertIn("destination_addr", found[0])
        self.assertIn("esm_class", found[1])
        self.assertIn("receipted_message_id", found[2])

    def test_everyTlvValueIsCompared(self):
        """Changing any one TLV value (length kept) makes Wireshark disagree."""
        number, obj = next((n, o) for n, o in self.frames
                           if len(getattr(o, "tlvs", ())) == len(T.SPECS))
        wire = codec.encode(obj)
        unseen = []
        for name, value in obj.tlvs.items():
            if name in _TLV_LABEL_ONLY:
                continue
            if isinstance(value, T.NetworkErrorCode):
                changed = T.NetworkErrorCode(value.network_type, value.error_code ^ 1)
            elif isinstance(value, int):
                changed = value ^ 1
            elif isinstance(value, str):
                changed = value[:-1] + chr(ord(value[-1]) ^ 1)
            else:
                changed = bytes((value[0] ^ 1,)) + value[1:]
            wrong = dataclasses.replace(obj, tlvs=dict(obj.tlvs, **{name: changed}))
            found = disagreements(wrong, wire, self.packets[number])
            if len(found) != 1 or name not in found[0]:
                unseen.append((name, found))
        self.assertEqual(unseen, [])

    def test_everyMandatoryFieldIsCompared(self):
        """Changing any one mandatory field of any case makes Wireshark disagree."""
        unseen = []
        for number, obj in self.frames:
            wire = codec.encode(obj)
            if len(wire) == codec.HEADER_SIZE:
                continue
            for _kind, name, _size, _status in obj.LAYOUT:
                value = getattr(obj, name)
                if isinstance(value, int):
                    changed = value ^ 1
                elif isinstance(value, str):
                    changed = value[:-1] + chr(ord(value[-1]) ^ 1) if value else "x"
                elif isinstance(value, bytes):
                    changed = bytes((value[0] ^ 1,)) + value[1:] if value else b"x"
                else:  # submit_multi destinations, submit_multi_resp failures
                    changed = value[:-1] + (value[-1]._replace(ton=value[-1].ton ^ 1),)
                wrong = dataclasses.replace(obj, **{name: changed})
                if not disagreements(wrong, wire, self.packets[number]):
                    unseen.append((type(obj).__name__, name))
        self.assertEqual(unseen, [])

    def test_missingTlvIsReported(self):
        number, obj = next((n, o) for n, o in self.frames if type(o) is P.BindTransceiverResp)
        wrong = P.BindTransceiverResp(obj.command_status, obj.sequence_number, obj.system_id)
        found = disagreements(wrong, codec.encode(obj), self.packets[number])
        self.assertEqual(len(found), 1, found)
        self.assertIn("TLV tags and lengths", found[0])
