"""Golden byte vectors for the codec, written by hand from the SMPP v3.4 spec.

Every vector below was typed field by field from the specification's PDU
tables (section 4) and TLV table (section 5.3), never produced by our
encoder: the codec must encode the PDU object to exactly these bytes and
decode these bytes back to exactly that object.  Each line is one field; the
comment names it.  C-Octet Strings are shown as their ASCII hex followed by
the 00 terminator.

The negative vectors each break one rule of the spec and pin the
command_status the codec must answer with, and that the error carries the
command_id and sequence_number of the offending PDU.
"""

from twisted.trial.unittest import SynchronousTestCase

from smpprouter.smpp import codec
from smpprouter.smpp import pdu as P
from smpprouter.smpp.errors import DecodeError, FramingError
from smpprouter.smpp.status import Status
from smpprouter.smpp.tlv import NetworkErrorCode


def vector(text: str) -> bytes:
    """The bytes of a commented hex listing: '#' starts a comment, blanks are ignored."""
    digits = "".join("".join(line.split("#", 1)[0].split()) for line in text.splitlines())
    return bytes.fromhex(digits)


# --- valid PDUs, one or more of each of the 27 types ------------------------

BIND_TRANSMITTER = """
    0000002a                  # command_length 42
    00000002                  # command_id bind_transmitter
    00000000                  # command_status 0
    00000001                  # sequence_number 1
    736d7070636c69656e743100  # system_id "smppclient1"
    70617373776f726400        # password "password"
    00                        # system_type ""
    34                        # interface_version 0x34
    00                        # addr_ton unknown
    00                        # addr_npi unknown
    00                        # address_range ""
"""

BIND_TRANSMITTER_RESP = """
    00000015                  # command_length 21
    80000002                  # command_id bind_transmitter_resp
    00000000                  # command_status ESME_ROK
    00000001                  # sequence_number 1
    534d534300                # system_id "SMSC"
"""

BIND_RECEIVER = """
    00000022                  # command_length 34
    00000001                  # command_id bind_receiver
    00000000                  # command_status 0
    00000002                  # sequence_number 2
    727800                    # system_id "rx"
    707700                    # password "pw"
    564d5300                  # system_type "VMS"
    34                        # interface_version 0x34
    01                        # addr_ton international
    01                        # addr_npi ISDN
    5e34343700                # address_range "^447"
"""

BIND_RECEIVER_RESP = """
    00000015                  # command_length 21
    80000001                  # command_id bind_receiver_resp
    00000000                  # command_status ESME_ROK
    00000002                  # sequence_number 2
    534d534300                # system_id "SMSC"
"""

# A failed bind: the response carries no body (SMPP v3.4 4.1.x, "the body
# is not returned if the command_status field contains a non-zero value").
BIND_RECEIVER_RESP_FAILED = """
    00000010                  # command_length 16
    80000001                  # command_id bind_receiver_resp
    0000000d                  # command_status ESME_RBINDFAIL
    00000002                  # sequence_number 2
"""

BIND_TRANSCEIVER = """
    00000020                  # command_length 32
    00000009                  # command_id bind_transceiver
    00000000                  # command_status 0
    00000003                  # sequence_number 3
    74727800                  # system_id "trx"
    73656372657400            # password "secret"
    00                        # system_type ""
    34                        # interface_version 0x34
    00                        # addr_ton
    00                        # addr_npi
    00                        # address_range ""
"""

BIND_TRANSCEIVER_RESP = """
    0000001a                  # command_length 26
    80000009                  # command_id bind_transceiver_resp
    00000000                  # command_status ESME_ROK
    00000003                  # sequence_number 3
    534d534300                # system_id "SMSC"
    0210 0001 34              # TLV sc_interface_version = 0x34
"""

OUTBIND = """
    00000018                  # command_length 24
    0000000b                  # command_id outbind
    00000000                  # command_status 0
    00000004                  # sequence_number 4
    534d534300                # system_id "SMSC"
    707700                    # password "pw"
"""

UNBIND = """
    00000010 00000006 00000000 00000005   # header only: unbind, seq 5
"""

UNBIND_RESP = """
    00000010 80000006 00000000 00000005   # header only: unbind_resp, ROK, seq 5
"""

ENQUIRE_LINK = """
    00000010 00000015 00000000 00000006   # header only: enquire_link, seq 6
"""

ENQUIRE_LINK_RESP = """
    00000010 80000015 00000000 00000006   # header only: enquire_link_resp, ROK, seq 6
"""

GENERIC_NACK = """
    00000010                  # command_length 16
    80000000                  # command_id generic_nack
    00000003                  # command_status ESME_RINVCMDID
    00000007                  # sequence_number 7 (of the PDU it rejects)
"""

# registered_delivery 1, a concatenation UDH (esm_class UDHI) and the two
# DLT registration TLVs, whose values are digits without a NUL.
SUBMIT_SM_UDH_DLT = """
    0000006b                  # command_length 107
    00000004                  # command_id submit_sm
    00000000                  # command_status 0
    00000008                  # sequence_number 8
    00                        # service_type ""
    05                        # source_addr_ton alphanumeric
    00                        # source_addr_npi unknown
    4272616e6400              # source_addr "Brand"
    01                        # dest_addr_ton international
    01                        # dest_addr_npi ISDN
    34343737303039303031323300  # destination_addr "447700900123"
    40                        # esm_class: UDHI indicator
    00                        # protocol_id
    00                        # priority_flag
    00                        # schedule_delivery_time "" (immediate)
    00                        # validity_period "" (SMSC default)
    01                        # registered_delivery: receipt on success or failure
    00                        # replace_if_present_flag
    00                        # data_coding SMSC default
    00                        # sm_default_msg_id
    0b                        # sm_length 11
    05 00 03 2a 02 01         # UDH: IEI 00 concat 8-bit ref 0x2a, part 1 of 2
    48656c6c6f                # "Hello"
    1400 0013                 # TLV pe_id (0x1400), 19 octets
    31323031313539313736323334353637383930  # "1201159176234567890"
    1401 0013                 # TLV template_id (0x1401), 19 octets
    31323037313631323334353637383930313233  # "1207161234567890123"
"""

# Times, SAR TLVs and a TLV nobody knows (0x1500), which must survive byte-exact.
SUBMIT_SM_SAR_UNKNOWN_TLV = """
    00000075                  # command_length 117
    00000004                  # command_id submit_sm
    00000000                  # command_status 0
    00000009                  # sequence_number 9
    00                        # service_type ""
    01 01                     # source_addr_ton, source_addr_npi
    34343737303039303031323300  # source_addr "447700900123"
    01 01                     # dest_addr_ton, dest_addr_npi
    34343737303039303034353600  # destination_addr "447700900456"
    00                        # esm_class
    00                        # protocol_id
    01                        # priority_flag 1
    3234303130313132303030303030342b00  # schedule_delivery_time "240101120000004+"
    3030303030313030303030303030305200  # validity_period "000001000000000R" (1 day)
    00 00 00 00               # registered_delivery, replace_if_present, data_coding, default_msg
    05 48656c6c6f             # sm_length 5, "Hello"
    020c 0002 0102            # TLV sar_msg_ref_num = 0x0102
    020e 0001 02              # TLV sar_total_segments = 2
    020f 0001 01              # TLV sar_segment_seqnum = 1
    1500 0003 010203          # TLV 0x1500 (unknown), raw 01 02 03
"""

SUBMIT_SM_RESP = """
    00000019                  # command_length 25
    80000004                  # command_id submit_sm_resp
    00000000                  # command_status ESME_ROK
    00000008                  # sequence_number 8
    6d73672d3030303100        # message_id "msg-0001"
"""

SUBMIT_SM_RESP_ERROR = """
    00000010                  # command_length 16: no body after an error
    80000004                  # command_id submit_sm_resp
    00000058                  # command_status ESME_RTHROTTLED
    00000009                  # sequence_number 9
"""

RECEIPT_TEXT = (
    b"id:0123456789abcdef sub:001 dlvrd:001 submit date:2401011200 "
    b"done date:2401011201 stat:DELIVRD err:000 text:Hello")

DELIVER_SM_RECEIPT = """
    000000bd                  # command_length 189
    00000005                  # command_id deliver_sm
    00000000                  # command_status 0
    0000000a                  # sequence_number 10
    00                        # service_type ""
    01 01                     # source_addr_ton, source_addr_npi (the handset)
    34343737303039303031323300  # source_addr "447700900123"
    05 00                     # dest_addr_ton, dest_addr_npi (the original sender)
    4272616e6400              # destination_addr "Brand"
    04                        # esm_class: SMSC delivery receipt
    00                        # protocol_id
    00                        # priority_flag
    00                        # schedule_delivery_time ""
    00                        # validity_period ""
    00                        # registered_delivery
    00                        # replace_if_present_flag
    00                        # data_coding
    00                        # sm_default_msg_id
    71                        # sm_length 113
    69643a3031323334353637383961626364656620  # "id:0123456789abcdef "
    7375623a30303120          # "sub:001 "
    646c7672643a30303120      # "dlvrd:001 "
    7375626d697420646174653a3234303130313132303020  # "submit date:2401011200 "
    646f6e6520646174653a3234303130313132303120      # "done date:2401011201 "
    737461743a44454c4956524420                      # "stat:DELIVRD "
    6572723a30303020          # "err:000 "
    746578743a48656c6c6f      # "text:Hello"
    001e 0011                 # TLV receipted_message_id, 17 octets
    3031323334353637383961626364656600  # "0123456789abcdef"
    0427 0001 02              # TLV message_state = DELIVERED
"""

DELIVER_SM_RESP = """
    00000011                  # command_length 17
    80000005                  # command_id deliver_sm_resp
    00000000                  # command_status ESME_ROK
    0000000a                  # sequence_number 10
    00                        # message_id "" (unused, NULL)
"""

SUBMIT_MULTI = """
    0000003f                  # command_length 63
    00000021                  # command_id submit_multi
    00000000                  # command_status 0
    0000000b                  # sequence_number 11
    00                        # service_type ""
    01 01                     # source_addr_ton, source_addr_npi
    313233343500              # source_addr "12345"
    02                        # number_of_dests 2
    01                        #   dest_flag 1: SME address
    01 01                     #   dest_addr_ton, dest_addr_npi
    34343737303039303031323300  # destination_addr "447700900123"
    02                        #   dest_flag 2: distribution list
    667269656e647300          #   dl_name "friends"
    00                        # esm_class
    00                        # protocol_id
    00                        # priority_flag
    00                        # schedule_delivery_time ""
    00                        # validity_period ""
    00                        # registered_delivery
    00                        # replace_if_present_flag
    00                        # data_coding
    00                        # sm_default_msg_id
    02 4869                   # sm_length 2, "Hi"
"""

SUBMIT_MULTI_RESP = """
    00000027                  # command_length 39
    80000021                  # command_id submit_multi_resp
    00000000                  # command_status ESME_ROK
    0000000b                  # sequence_number 11
    6d3100                    # message_id "m1"
    01                        # no_unsuccess 1
    01 01                     #   dest_addr_ton, dest_addr_npi
    34343737303039303031323400  # destination_addr "447700900124"
    00000045                  #   error_status_code ESME_RSUBMITFAIL
"""

DATA_SM = """
    00000042                  # command_length 66
    00000103                  # command_id data_sm
    00000000                  # command_status 0
    0000000c                  # sequence_number 12
    00                        # service_type ""
    01 01                     # source_addr_ton, source_addr_npi
    34343737303039303031323300  # source_addr "447700900123"
    01 01                     # dest_addr_ton, dest_addr_npi
    34343737303039303034353600  # destination_addr "447700900456"
    00                        # esm_class
    01                        # registered_delivery
    00                        # data_coding
    0424 000c                 # TLV message_payload, 12 octets
    48656c6c6f2c20776f726c64  # "Hello, world"
"""

# An error response that does carry a body (allowed for data_sm_resp).
DATA_SM_RESP = """
    00000020                  # command_length 32
    80000103                  # command_id data_sm_resp
    000000fe                  # command_status ESME_RDELIVERYFAILURE
    0000000c                  # sequence_number 12
    61626300                  # message_id "abc"
    0425 0001 01              # TLV delivery_failure_reason = 1 (address invalid)
    0423 0003 03 0022         # TLV network_error_code: GSM (3), error 0x0022
"""

QUERY_SM = """
    00000025                  # command_length 37
    00000003                  # command_id query_sm
    00000000                  # command_status 0
    0000000d                  # sequence_number 13
    313233343500              # message_id "12345"
    01 01                     # source_addr_ton, source_addr_npi
    34343737303039303031323300  # source_addr "447700900123"
"""

QUERY_SM_RESP = """
    00000029                  # command_length 41
    80000003                  # command_id query_sm_resp
    00000000                  # command_status ESME_ROK
    0000000d                  # sequence_number 13
    313233343500              # message_id "12345"
    3234303130313132303030303030342b00  # final_date "240101120000004+"
    02                        # message_state DELIVERED
    00                        # error_code
"""

CANCEL_SM = """
    00000035                  # command_length 53
    00000008                  # command_id cancel_sm
    00000000                  # command_status 0
    0000000e                  # sequence_number 14
    00                        # service_type ""
    313233343500              # message_id "12345"
    01 01                     # source_addr_ton, source_addr_npi
    34343737303039303031323300  # source_addr "447700900123"
    01 01                     # dest_addr_ton, dest_addr_npi
    34343737303039303034353600  # destination_addr "447700900456"
"""

CANCEL_SM_RESP = """
    00000010 80000008 00000000 0000000e   # header only: cancel_sm_resp, ROK, seq 14
"""

REPLACE_SM = """
    0000003f                  # command_length 63
    00000007                  # command_id replace_sm
    00000000                  # command_status 0
    0000000f                  # sequence_number 15
    313233343500              # message_id "12345"
    01 01                     # source_addr_ton, source_addr_npi
    34343737303039303031323300  # source_addr "447700900123"
    00                        # schedule_delivery_time ""
    3030303030313030303030303030305200  # validity_period "000001000000000R"
    01                        # registered_delivery
    00                        # sm_default_msg_id
    05 48656c6c6f             # sm_length 5, "Hello"
"""

REPLACE_SM_RESP = """
    00000010 80000007 00000000 0000000f   # header only: replace_sm_resp, ROK, seq 15
"""

ALERT_NOTIFICATION = """
    0000002b                  # command_length 43
    00000102                  # command_id alert_notification
    00000000                  # command_status 0
    00000010                  # sequence_number 16
    01 01                     # source_addr_ton, source_addr_npi
    34343737303039303031323300  # source_addr "447700900123"
    01 01                     # esme_addr_ton, esme_addr_npi
    3838383800                # esme_addr "8888"
    0422 0001 00              # TLV ms_availability_status = available
"""

_INTL = dict(source_addr_ton=1, source_addr_npi=1)

# (name, vector, the PDU object it is)
GOLDEN = [
    ("bind_transmitter", BIND_TRANSMITTER, P.BindTransmitter(
        0, 1, system_id="smppclient1", password="password")),
    ("bind_transmitter_resp", BIND_TRANSMITTER_RESP, P.BindTransmitterResp(0, 1, "SMSC")),
    ("bind_receiver", BIND_RECEIVER, P.BindReceiver(
        0, 2, system_id="rx", password="pw", system_type="VMS", addr_ton=1, addr_npi=1,
        address_range="^447")),
    ("bind_receiver_resp", BIND_RECEIVER_RESP, P.BindReceiverResp(0, 2, "SMSC")),
    ("bind_receiver_resp_failed", BIND_RECEIVER_RESP_FAILED,
     P.BindReceiverResp(Status.ESME_RBINDFAIL, 2)),
    ("bind_transceiver", BIND_TRANSCEIVER, P.BindTransceiver(
        0, 3, system_id="trx", password="secret")),
    ("bind_transceiver_resp", BIND_TRANSCEIVER_RESP, P.BindTransceiverResp(
        0, 3, "SMSC", {"sc_interface_version": 0x34})),
    ("outbind", OUTBIND, P.Outbind(0, 4, "SMSC", "pw")),
    ("unbind", UNBIND, P.Unbind(0, 5)),
    ("unbind_resp", UNBIND_RESP, P.UnbindResp(0, 5)),
    ("enquire_link", ENQUIRE_LINK, P.EnquireLink(0, 6)),
    ("enquire_link_resp", ENQUIRE_LINK_RESP, P.EnquireLinkResp(0, 6)),
    ("generic_nack", GENERIC_NACK, P.GenericNack(Status.ESME_RINVCMDID, 7)),
    ("submit_sm_udh_dlt", SUBMIT_SM_UDH_DLT, P.SubmitSm(
        0, 8, source_addr_ton=5, source_addr="Brand", dest_addr_ton=1, dest_addr_npi=1,
        destination_addr="447700900123", esm_class=0x40, registered_delivery=1,
        short_message=b"\x05\x00\x03\x2a\x02\x01Hello",
        tlvs={"pe_id": "1201159176234567890", "template_id": "1207161234567890123"})),
    ("submit_sm_sar_unknown_tlv", SUBMIT_SM_SAR_UNKNOWN_TLV, P.SubmitSm(
        0, 9, **_INTL, source_addr="447700900123", dest_addr_ton=1, dest_addr_npi=1,
        destination_addr="447700900456", priority_flag=1,
        schedule_delivery_time="240101120000004+", validity_period="000001000000000R",
        short_message=b"Hello",
        tlvs={"sar_msg_ref_num": 0x0102, "sar_total_segments": 2, "sar_segment_seqnum": 1,
              0x1500: b"\x01\x02\x03"})),
    ("submit_sm_resp", SUBMIT_SM_RESP, P.SubmitSmResp(0, 8, "msg-0001")),
    ("submit_sm_resp_error", SUBMIT_SM_RESP_ERROR, P.SubmitSmResp(Status.ESME_RTHROTTLED, 9)),
    ("deliver_sm_receipt", DELIVER_SM_RECEIPT, P.DeliverSm(
        0, 10, **_INTL, source_addr="447700900123", dest_addr_ton=5, dest_addr_npi=0,
        destination_addr="Brand", esm_class=0x04, short_message=RECEIPT_TEXT,
        tlvs={"receipted_message_id": "0123456789abcdef", "message_state": 2})),
    ("deliver_sm_resp", DELIVER_SM_RESP, P.DeliverSmResp(0, 10)),
    ("submit_multi", SUBMIT_MULTI, P.SubmitMulti(
        0, 11, **_INTL, source_addr="12345",
        dest_addresses=(P.SmeDest(1, 1, "447700900123"), P.DistributionList("friends")),
        short_message=b"Hi")),
    ("submit_multi_resp", SUBMIT_MULTI_RESP, P.SubmitMultiResp(
        0, 11, "m1", (P.UnsuccessSme(1, 1, "447700900124", Status.ESME_RSUBMITFAIL),))),
    ("data_sm", DATA_SM, P.DataSm(
        0, 12, **_INTL, source_addr="447700900123", dest_addr_ton=1, dest_addr_npi=1,
        destination_addr="447700900456", registered_delivery=1,
        tlvs={"message_payload": b"Hello, world"})),
    ("data_sm_resp", DATA_SM_RESP, P.DataSmResp(
        Status.ESME_RDELIVERYFAILURE, 12, "abc",
        {"delivery_failure_reason": 1, "network_error_code": NetworkErrorCode(3, 0x22)})),
    ("query_sm", QUERY_SM, P.QuerySm(0, 13, "12345", 1, 1, "447700900123")),
    ("query_sm_resp", QUERY_SM_RESP, P.QuerySmResp(0, 13, "12345", "240101120000004+", 2, 0)),
    ("cancel_sm", CANCEL_SM, P.CancelSm(
        0, 14, "", "12345", 1, 1, "447700900123", 1, 1, "447700900456")),
    ("cancel_sm_resp", CANCEL_SM_RESP, P.CancelSmResp(0, 14)),
    ("replace_sm", REPLACE_SM, P.ReplaceSm(
        0, 15, "12345", 1, 1, "447700900123", "", "000001000000000R", 1, 0, b"Hello")),
    ("replace_sm_resp", REPLACE_SM_RESP, P.ReplaceSmResp(0, 15)),
    ("alert_notification", ALERT_NOTIFICATION, P.AlertNotification(
        0, 16, 1, 1, "447700900123", 1, 1, "8888", {"ms_availability_status": 0})),
]


class GoldenVectorTests(SynchronousTestCase):
    """encode(object) == hand-written bytes, decode(bytes) == object, for each vector."""

    def test_everyPduTypeHasAVector(self):
        covered = {type(obj) for _, _, obj in GOLDEN}
        missing = [cls.__name__ for cls in P.ALL if cls not in covered]
        self.assertEqual(missing, [])
        self.assertEqual(len(P.ALL), 27)

    def test_vectorsAreSelfConsistent(self):
        """Guard the hand-written vectors themselves: command_length matches."""
        for name, text, obj in GOLDEN:
            raw = vector(text)
            self.assertEqual(int.from_bytes(raw[:4], "big"), len(raw), name)
            self.assertEqual(int.from_bytes(raw[4:8], "big"), obj.command_id, name)
            self.assertEqual(int.from_bytes(raw[12:16], "big"), obj.sequence_number, name)

    def test_streamOfAllVectors(self):
        """The concatenated vectors decode one by one, each consuming its own length."""
        stream = b"".join(vector(text) for _, text, _ in GOLDEN)
        pos = 0
        decoded = []
        while pos < len(stream):
            obj, consumed = codec.decode(stream, pos)
            self.assertNotEqual(consumed, 0)
            decoded.append(obj)
            pos += consumed
        self.assertEqual(decoded, [obj for _, _, obj in GOLDEN])

    def test_incompleteVectorsNeedMoreData(self):
        for name, text, _ in GOLDEN:
            raw = vector(text)
            for cut in (0, 3, 15, len(raw) - 1):
                self.assertEqual(codec.decode(raw[:cut]), (None, 0), (name, cut))


def _golden_tests(name, text, obj):
    def test_encode(self):
        self.assertEqual(codec.encode(obj).hex(), vector(text).hex())

    def test_decode(self):
        raw = vector(text)
        decoded, consumed = codec.decode(raw)
        self.assertEqual(consumed, len(raw))
        self.assertEqual(type(decoded), type(obj))
        self.assertEqual(decoded, obj)
        if hasattr(obj, "tlvs"):  # wire order is kept
            self.assertEqual(list(decoded.tlvs), list(obj.tlvs))

    return test_encode, test_decode


for _name, _text, _obj in GOLDEN:
    _enc, _dec = _golden_tests(_name, _text, _obj)
    setattr(GoldenVectorTests, "test_encode_" + _name, _enc)
    setattr(GoldenVectorTests, "test_decode_" + _name, _dec)
del _name, _text, _obj, _enc, _dec


class SpecificVectorTests(SynchronousTestCase):
    """What particular vectors promise beyond equality."""

    def test_unknownTlvPassesThroughByteExact(self):
        raw = vector(SUBMIT_SM_SAR_UNKNOWN_TLV)
        decoded, _ = codec.decode(raw)
        self.assertEqual(decoded.tlvs[0x1500], b"\x01\x02\x03")
        self.assertEqual(codec.encode(decoded), raw)

    def test_dltTlvsKeptAsText(self):
        decoded, _ = codec.decode(vector(SUBMIT_SM_UDH_DLT))
        self.assertEqual(decoded.tlvs["pe_id"], "1201159176234567890")
        self.assertEqual(decoded.tlvs["template_id"], "1207161234567890123")
        self.assertEqual(decoded.short_message[:6], bytes.fromhex("0500032a0201"))

    def test_receiptFields(self):
        decoded, _ = codec.decode(vector(DELIVER_SM_RECEIPT))
        self.assertEqual(decoded.esm_class & 0x3C, 0x04)
        self.assertEqual(len(decoded.short_message), 113)
        self.assertEqual(decoded.tlvs["receipted_message_id"], "0123456789abcdef")
        self.assertEqual(decoded.tlvs["message_state"], 2)

    def test_errorResponseHasNoBody(self):
        self.assertEqual(len(codec.encode(P.SubmitSmResp(Status.ESME_RTHROTTLED, 9))), 16)
        self.assertEqual(len(codec.encode(P.BindReceiverResp(Status.ESME_RBINDFAIL, 2))), 16)

    def test_v33SessionDecodesPlainSubmitSm(self):
        """The positive control for the v3.3 negatives below."""
        raw = vector(SUBMIT_SM_MINIMAL)
        decoded, consumed = codec.decode(raw, version=0x33)
        self.assertEqual(consumed, len(raw))
        self.assertEqual(decoded.short_message, b"Hi")
        self.assertEqual(decoded.destination_addr, "4478")


# --- negative vectors --------------------------------------------------------

# The valid baseline the submit_sm negatives each break in one place.
SUBMIT_SM_MINIMAL = """
    0000002b                  # command_length 43
    00000004                  # command_id submit_sm
    00000000                  # command_status
    00000001                  # sequence_number 1
    00                        # service_type
    01 01 3434373700          # source_addr_ton, npi, source_addr "4477"
    01 01 3434373800          # dest_addr_ton, npi, destination_addr "4478"
    00 00 00                  # esm_class, protocol_id, priority_flag
    00                        # schedule_delivery_time
    00                        # validity_period
    00 00 00 00               # registered_delivery, replace_if_present, data_coding, default_msg
    02 4869                   # sm_length 2, "Hi"
"""

NEGATIVE = [
    # (name, vector, status, command_id, sequence_number, decode keyword arguments)
    ("command_length_15", """
        0000000f 00000015 00000000 00000001   # command_length 15 < 16
     """, Status.ESME_RINVCMDLEN, 0x15, 1, {}),
    ("command_length_over_default_max", """
        00011171 00000004 00000000 00000002   # command_length 70001 > 70000
     """, Status.ESME_RINVCMDLEN, 0x04, 2, {}),
    ("command_length_over_session_max", """
        00000041 00000004 00000000 00000003   # command_length 65 > max_length 64
     """, Status.ESME_RINVCMDLEN, 0x04, 3, {"max_length": 64}),
    ("unknown_command_id", """
        00000010 00000099 00000000 00000004   # command_id 0x99: no such command
     """, Status.ESME_RINVCMDID, 0x99, 4, {}),
    ("unknown_response_command_id", """
        00000010 80000099 00000000 00000005   # command_id 0x80000099: no such command
     """, Status.ESME_RINVCMDID, 0x80000099, 5, {}),
    ("source_addr_unterminated", """
        00000017 00000004 00000000 00000006   # submit_sm, length 23
        00                                    # service_type
        01 01                                 # source_addr_ton, npi
        34343737                              # source_addr "4477" with no NUL: PDU ends
     """, Status.ESME_RINVSRCADR, 0x04, 6, {}),
    ("source_addr_too_long", """
        0000003c 00000004 00000000 00000007   # submit_sm, length 60
        00                                    # service_type
        01 01                                 # source_addr_ton, npi
        34343737303039303031323334353637383930313200  # 21 digits: max is 20 + NUL
        01 01 3434373800                      # destination
        00 00 00 00 00 00 00 00 00            # esm .. sm_default_msg_id
        02 4869                               # short_message "Hi"
     """, Status.ESME_RINVSRCADR, 0x04, 7, {}),
    ("destination_addr_unterminated", """
        0000001e 00000004 00000000 00000008   # submit_sm, length 30
        00                                    # service_type
        01 01 3434373700                      # source "4477"
        01 01                                 # dest_addr_ton, npi
        34343738                              # destination_addr "4478", no NUL: PDU ends
     """, Status.ESME_RINVDSTADR, 0x04, 8, {}),
    ("destination_addr_too_long", """
        0000003c 00000004 00000000 00000009   # submit_sm, length 60
        00                                    # service_type
        01 01 3434373700                      # source "4477"
        01 01                                 # dest_addr_ton, npi
        34343737303039303031323334353637383930313200  # 21 digits: max is 20 + NUL
        00 00 00 00 00 00 00 00 00            # esm .. sm_default_msg_id
        02 4869                               # short_message "Hi"
     """, Status.ESME_RINVDSTADR, 0x04, 9, {}),
    ("system_id_too_long", """
        00000027 00000002 00000000 0000000a   # bind_transmitter, length 39
        6162636465666768696a6b6c6d6e6f7000    # system_id of 16 characters: max is 15 + NUL
        00                                    # password
        00                                    # system_type
        34 00 00                              # interface_version, addr_ton, addr_npi
        00                                    # address_range
     """, Status.ESME_RINVSYSID, 0x02, 10, {}),
    ("password_too_long", """
        00000024 00000002 00000000 0000000b   # bind_transmitter, length 36
        65736d6500                            # system_id "esme"
        31323334353637383900                  # password of 9 characters: max is 8 + NUL
        00                                    # system_type
        34 00 00                              # interface_version, addr_ton, addr_npi
        00                                    # address_range
     """, Status.ESME_RINVPASWD, 0x02, 11, {}),
    ("sm_length_past_end", """
        0000002b 00000004 00000000 0000000c   # submit_sm, length 43
        00 0101 3434373700 0101 3434373800    # service_type, source, destination
        00 00 00 00 00 00 00 00 00            # esm .. sm_default_msg_id
        05 4869                               # sm_length 5 but only 2 octets remain
     """, Status.ESME_RINVMSGLEN, 0x04, 12, {}),
    ("tlv_header_truncated", """
        0000002e 00000004 00000000 0000000d   # submit_sm, length 46
        00 0101 3434373700 0101 3434373800    # service_type, source, destination
        00 00 00 00 00 00 00 00 00            # esm .. sm_default_msg_id
        02 4869                               # short_message "Hi"
        0424 00                               # 3 octets: half a TLV header
     """, Status.ESME_RINVTLVSTREAM, 0x04, 13, {}),
    ("tlv_length_past_end", """
        00000033 00000004 00000000 0000000e   # submit_sm, length 51
        00 0101 3434373700 0101 3434373800    # service_type, source, destination
        00 00 00 00 00 00 00 00 00            # esm .. sm_default_msg_id
        02 4869                               # short_message "Hi"
        0424 0010 41424344                    # message_payload says 16 octets, 4 remain
     """, Status.ESME_RINVTLVSTREAM, 0x04, 14, {}),
    ("fixed_tlv_wrong_length", """
        00000030 00000004 00000000 0000000f   # submit_sm, length 48
        00 0101 3434373700 0101 3434373800    # service_type, source, destination
        00 00 00 00 00 00 00 00 00            # esm .. sm_default_msg_id
        02 4869                               # short_message "Hi"
        020c 0001 07                          # sar_msg_ref_num is Integer(2), sent as 1 octet
     """, Status.ESME_RINVTLVLEN, 0x04, 15, {}),
    ("esm_class_smsc_receipt_on_submit", """
        0000002b 00000004 00000000 00000010   # submit_sm, length 43
        00 0101 3434373700 0101 3434373800    # service_type, source, destination
        04                                    # esm_class: SMSC delivery receipt (SMSC only)
        00 00 00 00 00 00 00 00               # protocol_id .. sm_default_msg_id
        02 4869                               # short_message "Hi"
     """, Status.ESME_RINVESMCLASS, 0x04, 16, {}),
    ("data_coding_reserved", """
        0000002b 00000004 00000000 00000011   # submit_sm, length 43
        00 0101 3434373700 0101 3434373800    # service_type, source, destination
        00 00 00 00 00 00 00                  # esm_class .. replace_if_present_flag
        80                                    # data_coding 0x80: reserved
        00                                    # sm_default_msg_id
        02 4869                               # short_message "Hi"
     """, Status.ESME_RINVDCS, 0x04, 17, {}),
    ("priority_flag_4", """
        0000002b 00000004 00000000 00000012   # submit_sm, length 43
        00 0101 3434373700 0101 3434373800    # service_type, source, destination
        00 00                                 # esm_class, protocol_id
        04                                    # priority_flag 4: only 0-3 exist
        00 00 00 00 00 00                     # times .. sm_default_msg_id
        02 4869                               # short_message "Hi"
     """, Status.ESME_RINVPRTFLG, 0x04, 18, {}),
    ("registered_delivery_3", """
        0000002b 00000004 00000000 00000013   # submit_sm, length 43
        00 0101 3434373700 0101 3434373800    # service_type, source, destination
        00 00 00 00 00                        # esm_class .. validity_period
        03                                    # registered_delivery: receipt bits 11, reserved
        00 00 00                              # replace_if_present .. sm_default_msg_id
        02 4869                               # short_message "Hi"
     """, Status.ESME_RINVREGDLVFLG, 0x04, 19, {}),
    ("schedule_delivery_time_malformed", """
        00000035 00000004 00000000 00000014   # submit_sm, length 53
        00 0101 3434373700 0101 3434373800    # service_type, source, destination
        00 00 00                              # esm_class, protocol_id, priority_flag
        3234303130313132303000                # schedule_delivery_time "2401011200": 10 of 16
        00                                    # validity_period
        00 00 00 00                           # registered_delivery .. sm_default_msg_id
        02 4869                               # short_message "Hi"
     """, Status.ESME_RINVSCHED, 0x04, 20, {}),
    ("validity_period_malformed", """
        0000003b 00000004 00000000 00000015   # submit_sm, length 59
        00 0101 3434373700 0101 3434373800    # service_type, source, destination
        00 00 00                              # esm_class, protocol_id, priority_flag
        00                                    # schedule_delivery_time
        3030303030313030303030303030305800    # validity_period "000001000000000X": p is X
        00 00 00 00                           # registered_delivery .. sm_default_msg_id
        02 4869                               # short_message "Hi"
     """, Status.ESME_RINVEXPIRY, 0x04, 21, {}),
    ("submit_multi_dest_flag_3", """
        0000002d 00000021 00000000 00000016   # submit_multi, length 45
        00                                    # service_type
        01 01 3434373700                      # source "4477"
        01                                    # number_of_dests 1
        03                                    # dest_flag 3: neither SME (1) nor list (2)
        01 01 3434373800                      # what would have been the address
        00 00 00 00 00 00 00 00 00            # esm .. sm_default_msg_id
        02 4869                               # short_message "Hi"
     """, Status.ESME_RINVDESTFLAG, 0x21, 22, {}),
    ("submit_multi_no_dests", """
        00000025 00000021 00000000 00000017   # submit_multi, length 37
        00                                    # service_type
        01 01 3434373700                      # source "4477"
        00                                    # number_of_dests 0
        00 00 00 00 00 00 00 00 00            # esm .. sm_default_msg_id
        02 4869                               # short_message "Hi"
     """, Status.ESME_RINVNUMDESTS, 0x21, 23, {}),
    ("enquire_link_trailing_octet", """
        00000011 00000015 00000000 00000018   # enquire_link, length 17
        00                                    # enquire_link has no body
     """, Status.ESME_RINVCMDLEN, 0x15, 24, {}),
    ("v33_data_sm", DATA_SM, Status.ESME_RINVCMDID, 0x103, 12, {"version": 0x33}),
    ("v33_bind_transceiver", BIND_TRANSCEIVER, Status.ESME_RINVCMDID, 0x09, 3,
     {"version": 0x33}),
    # v3.3 has no optional parameters: the octets after short_message are
    # octets the v3.3 PDU cannot contain, so its length is wrong.
    ("v33_submit_sm_with_tlvs", SUBMIT_SM_UDH_DLT, Status.ESME_RINVCMDLEN, 0x04, 8,
     {"version": 0x33}),
]


class NegativeVectorTests(SynchronousTestCase):
    """Each malformed vector raises the DecodeError with the status the spec calls for."""

    def test_baselineIsValid(self):
        decoded, consumed = codec.decode(vector(SUBMIT_SM_MINIMAL))
        self.assertEqual(consumed, 43)
        self.assertEqual(decoded, P.SubmitSm(
            0, 1, **_INTL, source_addr="4477", dest_addr_ton=1, dest_addr_npi=1,
            destination_addr="4478", short_message=b"Hi"))

    def test_negativeVectorsSelfConsistent(self):
        """Where the vector claims a plausible command_length, the bytes match it."""
        for name, text, _, cid, seq, _kw in NEGATIVE:
            raw = vector(text)
            self.assertEqual(int.from_bytes(raw[4:8], "big"), cid, name)
            self.assertEqual(int.from_bytes(raw[12:16], "big"), seq, name)
            if not name.startswith("command_length"):
                self.assertEqual(int.from_bytes(raw[:4], "big"), len(raw), name)


def _negative_test(name, text, status, command_id, sequence, kwargs):
    def test(self):
        raw = vector(text)
        error = self.assertRaises(DecodeError, codec.decode, raw, **kwargs)
        self.assertEqual((hex(error.status), error.command_id, error.sequence_number),
                         (hex(status), command_id, sequence), str(error))
        # A FramingError ends the session; anything else leaves the stream usable.
        self.assertEqual(isinstance(error, FramingError), name.startswith("command_length"))

    return test


for _args in NEGATIVE:
    setattr(NegativeVectorTests, "test_" + _args[0], _negative_test(*_args))
del _args
