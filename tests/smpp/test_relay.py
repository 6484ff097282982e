"""The relay of an ESME's submit_sm as received (adapt.relay_form) against the
general path (submission, then submit_pdu, then the codec): where the relay is
taken, an upstream gets the very octets the general path would have sent."""

from dataclasses import replace
import struct

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.smpp import adapt, codec
from smpprouter.smpp import pdu as P
from smpprouter.smpp.errors import DecodeError

from .strategies import cstr, pdu_of, smpp_time, tlvs

NOW = 1_709_294_400.0
SEQ = struct.Struct(">I")


def plain(pdu):
    """Most draws without what keeps a submit_sm off the relay, so both sides
    of the condition are well covered."""
    return st.builds(lambda p, keep_tlvs, keep_times, status: replace(
        p, tlvs=p.tlvs if keep_tlvs else {},
        schedule_delivery_time=p.schedule_delivery_time if keep_times else "",
        validity_period=p.validity_period if keep_times else "",
        command_status=status), pdu, st.booleans(), st.booleans(),
        st.sampled_from((0, 0, 0, 5)))


submit_sms = plain(pdu_of(P.SubmitSm))


def general(received, seq):
    """What the general path sends upstream for `received` (a v3.4 upstream)."""
    pdu, _ = codec.decode(received)
    s = adapt.submission(pdu, "u1", NOW)
    out = adapt.submit_pdu(s, 0x34, NOW)
    out.sequence_number = seq
    return codec.encode(out)


def relayed(wire, seq):
    """What send_encoded_request makes of the relayed octets."""
    return wire[:12] + SEQ.pack(seq) + wire[16:]


class RelayFormTests(SynchronousTestCase):
    @settings(max_examples=300, deadline=None)
    @given(submit_sms, st.integers(1, 0x7FFFFFFF))
    def test_relay_is_the_general_path_byte_for_byte(self, pdu, seq):
        data = codec.encode(pdu)
        try:
            decoded = codec.decode_frame(data, 0, len(data))
        except DecodeError:
            return   # refused before anything is relayed
        wire = adapt.relay_form(decoded, data, 0, len(data))
        if wire is None:   # the general path's, as before (tests/smpp/test_adapt.py)
            self.assertTrue(decoded.tlvs or decoded.command_status
                            or decoded.schedule_delivery_time or decoded.validity_period)
            return
        self.assertEqual(relayed(wire, seq), general(data, seq))

    @settings(max_examples=100, deadline=None)
    @given(submit_sms, st.binary(min_size=1, max_size=30), st.binary(max_size=30))
    def test_the_frame_is_cut_from_its_buffer(self, pdu, before, after):
        data = codec.encode(replace(pdu, tlvs={}, schedule_delivery_time="",
                                    validity_period="", command_status=0))
        buf = before + data + after
        decoded = codec.decode_frame(buf, len(before), len(before) + len(data))
        self.assertEqual(adapt.relay_form(decoded, buf, len(before), len(before) + len(data)),
                         data)

    @given(pdu_of(P.SubmitSm), tlvs.filter(bool))
    def test_no_relay_with_optional_parameters(self, pdu, extra):
        pdu = replace(pdu, tlvs=extra)
        data = codec.encode(pdu)
        self.assertIsNone(adapt.relay_form(pdu, data, 0, len(data)))

    @given(pdu_of(P.SubmitSm), smpp_time.filter(bool), st.booleans())
    def test_no_relay_with_a_time(self, pdu, when, schedule):
        pdu = replace(pdu, tlvs={}, **{"schedule_delivery_time" if schedule
                                       else "validity_period": when})
        data = codec.encode(pdu)
        self.assertIsNone(adapt.relay_form(pdu, data, 0, len(data)))

    def test_no_relay_of_data_sm(self):
        pdu = P.DataSm(0, 7, "", 0, 0, "a", 0, 0, "b", 0, 0, 0, {})
        data = codec.encode(pdu)
        self.assertIsNone(adapt.relay_form(pdu, data, 0, len(data)))

    def test_a_changed_submission_loses_its_octets(self):
        pdu = P.SubmitSm(0, 7, destination_addr="123", short_message=b"hi")
        data = codec.encode(pdu)
        s = adapt.submission(pdu, "u1", NOW)
        s.wire = adapt.relay_form(pdu, data, 0, len(data))
        self.assertEqual(s.wire, data)
        # every change the core makes goes through dataclasses.replace
        self.assertIsNone(replace(s, destination="+123").wire)
        self.assertIsNone(replace(s).wire)


class IdResponseTests(SynchronousTestCase):
    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from((P.SubmitSmResp, P.DataSmResp, P.DeliverSmResp)),
           st.sampled_from((0, 0, 0x14, 0x58, 0xFFFFFFFF)), st.integers(1, 0x7FFFFFFF),
           cstr(65), st.sampled_from((0x33, 0x34)))
    def test_the_octets_of_encode(self, cls, status, seq, message_id, version):
        self.assertEqual(codec.encode_id_response(cls.command_id, status, seq, message_id),
                         codec.encode(cls(status, seq, message_id), version))
