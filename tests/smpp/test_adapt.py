"""smpp.adapt: PDUs of each version to core.messages values and back, through
the real codec (what goes on the wire, not just objects)."""

from dataclasses import replace
from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.core.messages import Inbound, Receipt, Submission
from smpprouter.smpp import adapt, codec
from smpprouter.smpp import pdu as P
from smpprouter.smpp.errors import SMPPError
from smpprouter.smpp.status import Status

from .strategies import cstr, data_coding, esm_class, npi, registered_delivery, ton

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc).timestamp()


def wire(pdu, version=0x34):
    """pdu as the peer would read it."""
    data = codec.encode(pdu, version)
    decoded, used = codec.decode(data, version=version)
    assert used == len(data)
    return decoded


def submission_of(pdu, version=0x34, **kw):
    return adapt.submission(wire(pdu, version), "u1", NOW, **kw)


def submissions(datagram):
    """Submissions that any v3.4 upstream can carry."""
    common = dict(
        user=st.just("u1"), source=cstr(21), destination=cstr(21),
        body=st.binary(max_size=400), data_coding=data_coding,
        esm_class=esm_class((0,)), source_ton=ton, source_npi=npi,
        dest_ton=ton, dest_npi=npi, service_type=cstr(6),
        registered_delivery=registered_delivery,
        datagram=st.just(datagram))
    if not datagram:
        common.update(protocol_id=st.integers(0, 255), priority=st.integers(0, 3),
                      replace_if_present=st.integers(0, 1),
                      sm_default_msg_id=st.integers(0, 255))
    return st.builds(Submission, **common)


class RoundTripTests(SynchronousTestCase):
    @settings(max_examples=200, deadline=None)
    @given(st.one_of(submissions(False), submissions(True)))
    def test_v34_submission_pdu_submission(self, s):
        pdu = adapt.submit_pdu(s, 0x34, NOW)
        self.assertIs(type(pdu), P.DataSm if s.datagram else P.SubmitSm)
        self.assertEqual(submission_of(pdu), s)

    @settings(max_examples=200, deadline=None)
    @given(submissions(False), st.booleans())
    def test_v33_submission_pdu_submission(self, s, datagram):
        s = replace(s, datagram=datagram)
        if len(s.body) > 254:
            with self.assertRaises(SMPPError) as e:
                adapt.submit_pdu(s, 0x33, NOW)
            self.assertEqual(e.exception.status, Status.ESME_RINVMSGLEN)
            return
        pdu = adapt.submit_pdu(s, 0x33, NOW)
        self.assertIs(type(pdu), P.SubmitSm)   # v3.3 has no data_sm
        self.assertEqual(submission_of(pdu, 0x33), replace(s, datagram=False))

    def test_v34_long_body_goes_in_message_payload(self):
        s = Submission("u1", "a", "b", b"x" * 255, tlvs={"user_message_reference": 7})
        pdu = wire(adapt.submit_pdu(s, 0x34))
        self.assertEqual((pdu.short_message, pdu.tlvs),
                         (b"", {"message_payload": b"x" * 255, "user_message_reference": 7}))
        self.assertEqual(s.tlvs, {"user_message_reference": 7})   # not changed

    def test_v33_drops_tlvs(self):
        s = Submission("u1", "a", "b", b"hi", tlvs={"user_message_reference": 7})
        self.assertEqual(wire(adapt.submit_pdu(s, 0x33), 0x33).tlvs, {})

    def test_validity_as_absolute_time_schedule_kept_by_the_router(self):
        s = Submission("u1", "a", "b", b"hi", schedule=NOW + 60, validity=NOW + 3600)
        pdu = adapt.submit_pdu(s, 0x34, NOW)
        self.assertEqual((pdu.schedule_delivery_time, pdu.validity_period),
                         ("", "240301130000000+"))
        # A validity already past goes as now, not as a time in the past.
        pdu = adapt.submit_pdu(replace(s, validity=NOW - 10), 0x34, NOW)
        self.assertEqual(pdu.validity_period, "240301120000000+")


class V33TlvTests(SynchronousTestCase):
    """What a v3.3 upstream cannot carry as TLVs: SAR becomes a UDH, DLT is refused."""

    def sar(self, body, ref=7, dc=0, esm=0, **more):
        tlvs = dict(sar_msg_ref_num=ref, sar_total_segments=3, sar_segment_seqnum=2, **more)
        return Submission("u1", "a", "b", body, data_coding=dc, esm_class=esm, tlvs=tlvs)

    def refused(self, s, status):
        with self.assertRaises(SMPPError) as e:
            adapt.submit_pdu(s, 0x33, NOW)
        self.assertEqual(e.exception.status, status)

    def test_sar_becomes_an_8bit_concatenation_udh(self):
        pdu = wire(adapt.submit_pdu(self.sar(b"part two"), 0x33), 0x33)
        self.assertEqual((pdu.esm_class, pdu.short_message, pdu.tlvs),
                         (0x40, b"\x05\x00\x03\x07\x03\x02part two", {}))

    def test_a_reference_beyond_one_octet_takes_the_16bit_ie(self):
        pdu = adapt.submit_pdu(self.sar(b"x", ref=0x1234), 0x33)
        self.assertEqual(pdu.short_message, b"\x06\x08\x04\x12\x34\x03\x02x")

    def test_an_existing_udh_gets_the_ie_in_front_of_its_own(self):
        port_udh = b"\x06\x05\x04\x0b\x84\x23\xf0"   # port addressing IE
        pdu = adapt.submit_pdu(self.sar(port_udh + b"wap", esm=0x40, dc=4), 0x33)
        self.assertEqual(pdu.short_message,
                         b"\x0b\x00\x03\x07\x03\x02\x05\x04\x0b\x84\x23\xf0wap")
        self.assertEqual(pdu.esm_class, 0x40)

    def test_v34_keeps_the_sar_tlvs(self):
        pdu = adapt.submit_pdu(self.sar(b"x"), 0x34)
        self.assertEqual((pdu.esm_class, pdu.short_message, pdu.tlvs["sar_segment_seqnum"]),
                         (0, b"x", 2))

    def test_the_part_and_its_udh_must_fit_one_sms(self):
        # GSM: 153 septets after a 6-octet UDH (7 septets); 8-bit: 134 octets
        adapt.submit_pdu(self.sar(b"a" * 153), 0x33)
        self.refused(self.sar(b"a" * 154), Status.ESME_RINVMSGLEN)
        adapt.submit_pdu(self.sar(b"a" * 134, dc=4), 0x33)
        self.refused(self.sar(b"a" * 135, dc=4), Status.ESME_RINVMSGLEN)
        self.refused(self.sar(b"a" * 134, ref=300, dc=4), Status.ESME_RINVMSGLEN)  # 7-octet UDH
        adapt.submit_pdu(self.sar(b"a" * 152, ref=300), 0x33)

    def test_incomplete_sar_is_refused(self):
        s = Submission("u1", "a", "b", b"x", tlvs={"sar_msg_ref_num": 1})
        self.refused(s, Status.ESME_RMISSINGTLV)

    def test_dlt_tlvs_are_refused_on_a_v33_route(self):
        for name in ("pe_id", "template_id", "tm_id"):
            s = Submission("u1", "a", "b", b"hi", tlvs={name: "1201159146"})
            self.refused(s, Status.ESME_RTLVNOTALLWD)
            self.assertEqual(wire(adapt.submit_pdu(s, 0x34)).tlvs, {name: "1201159146"})


class SubmissionTests(SynchronousTestCase):
    def test_message_payload_is_the_body(self):
        s = submission_of(P.SubmitSm(tlvs={"message_payload": b"p" * 300,
                                           "user_message_reference": 1}))
        self.assertEqual((s.body, s.tlvs), (b"p" * 300, {"user_message_reference": 1}))

    def test_both_is_ambiguous(self):
        with self.assertRaises(SMPPError) as e:
            submission_of(P.SubmitSm(short_message=b"a", tlvs={"message_payload": b"b"}))
        self.assertEqual(e.exception.status, Status.ESME_RINVMSGLEN)

    def test_times(self):
        s = submission_of(P.SubmitSm(schedule_delivery_time="000000000100000R",
                                     validity_period="240302120000000+"))
        self.assertEqual((s.schedule, s.validity), (NOW + 60, NOW + 86400))

    def test_bad_times(self):
        for field, status in (("schedule_delivery_time", Status.ESME_RINVSCHED),
                              ("validity_period", Status.ESME_RINVEXPIRY)):
            with self.assertRaises(SMPPError) as e:
                adapt.submission(P.SubmitSm(**{field: "240230000000000+"}), "u1", NOW)
            self.assertEqual(e.exception.status, status)

    def test_data_sm(self):
        s = submission_of(P.DataSm(source_addr="a", destination_addr="b", esm_class=0x40,
                                   registered_delivery=1, data_coding=8,
                                   tlvs={"message_payload": b"\x05\x00\x03\x01\x02\x01hi"}))
        self.assertEqual((s.body, s.esm_class, s.registered_delivery, s.data_coding,
                          s.datagram), (b"\x05\x00\x03\x01\x02\x01hi", 0x40, 1, 8, True))

    def test_submit_multi_destination(self):
        pdu = P.SubmitMulti(source_addr="a", dest_addresses=(P.SmeDest(1, 1, "111"),),
                            short_message=b"hi")
        s = submission_of(pdu, destination=(2, 3, "222"))
        self.assertEqual((s.dest_ton, s.dest_npi, s.destination, s.body),
                         (2, 3, "222", b"hi"))


class DeliverTests(SynchronousTestCase):
    receipt = Receipt("m1", 2, b"id:m1 sub:001 dlvrd:001 stat:DELIVRD", "1555", "Brand",
                      1, 1, 5, 0, tlvs={"receipted_message_id": "m1", "message_state": 2})

    def test_receipt_v34(self):
        pdu = wire(adapt.deliver_pdu(self.receipt, 0x34))
        self.assertEqual((type(pdu), pdu.esm_class, pdu.short_message, pdu.source_addr,
                          pdu.source_addr_ton, pdu.dest_addr_ton, pdu.tlvs),
                         (P.DeliverSm, 0x04, self.receipt.text, "1555", 1, 5,
                          self.receipt.tlvs))

    def test_receipt_v33(self):
        pdu = wire(adapt.deliver_pdu(self.receipt, 0x33), 0x33)
        self.assertEqual((pdu.short_message, pdu.tlvs), (self.receipt.text, {}))

    @given(st.binary(max_size=600), st.sampled_from((0x33, 0x34)))
    def test_inbound_body_rules(self, body, version):
        entry = Inbound("up", "1555", "Brand", body, data_coding=8, service_type="WAP",
                        protocol_id=0x7F)
        if version == 0x33 and len(body) > 254:
            with self.assertRaises(SMPPError):
                adapt.deliver_pdu(entry, version)
            return
        pdu = wire(adapt.deliver_pdu(entry, version), version)
        self.assertEqual((pdu.service_type, pdu.protocol_id, pdu.data_coding),
                         ("WAP", 0x7F, 8))
        if len(body) > 254:
            self.assertEqual((pdu.short_message, pdu.tlvs["message_payload"]), (b"", body))
        else:
            self.assertEqual((pdu.short_message, pdu.tlvs), (body, {}))


class UpstreamDeliveryTests(SynchronousTestCase):
    def test_receipt_from_tlvs(self):
        r = adapt.upstream_delivery(wire(P.DeliverSm(
            source_addr="1555", destination_addr="Brand", esm_class=0x04,
            short_message=b"id:other stat:UNDELIV",
            tlvs={"receipted_message_id": "up-1", "message_state": 2})), "up")
        self.assertEqual((type(r), r.message_id, r.state, r.source, r.esm_class),
                         (Receipt, "up-1", 2, "1555", 0x04))

    def test_receipt_from_text(self):
        r = adapt.upstream_delivery(wire(P.DeliverSm(
            esm_class=0x04, short_message=b"id:4F2A sub:001 dlvrd:000 submit date:2403011200"
            b" done date:2403011201 stat:UNDELIV err:034 text:hello")), "up")
        self.assertEqual((r.message_id, r.state), ("4F2A", 5))

    def test_receipt_from_message_payload(self):
        r = adapt.upstream_delivery(wire(P.DeliverSm(
            esm_class=0x04, tlvs={"message_payload": b"id:77 stat:DELIVRD"})), "up")
        self.assertEqual((r.message_id, r.state, r.text, r.tlvs),
                         ("77", 2, b"id:77 stat:DELIVRD", {}))

    def test_unreadable_receipt(self):
        r = adapt.upstream_delivery(wire(P.DeliverSm(esm_class=0x04, short_message=b"?")),
                                    "up")
        self.assertEqual((r.message_id, r.state), ("", 7))

    def test_intermediate_notification(self):
        r = adapt.upstream_delivery(wire(P.DeliverSm(
            esm_class=0x20, tlvs={"receipted_message_id": "9", "message_state": 1})), "up")
        self.assertEqual((type(r), r.esm_class, r.state), (Receipt, 0x20, 1))

    def test_data_sm_receipt(self):
        r = adapt.upstream_delivery(wire(P.DataSm(
            esm_class=0x04, tlvs={"receipted_message_id": "up-3", "message_state": 3})), "up")
        self.assertEqual((type(r), r.message_id, r.state, r.text), (Receipt, "up-3", 3, b""))

    def test_mo_from_deliver_sm_and_data_sm(self):
        mo = adapt.upstream_delivery(wire(P.DeliverSm(
            source_addr="1555", destination_addr="Brand", protocol_id=0x40,
            short_message=b"hi")), "up")
        self.assertEqual((type(mo), mo.connector, mo.body, mo.protocol_id),
                         (Inbound, "up", b"hi", 0x40))
        mo = adapt.upstream_delivery(wire(P.DataSm(
            source_addr="1555", destination_addr="Brand",
            tlvs={"message_payload": b"long" * 100, "source_port": 1})), "up")
        self.assertEqual((mo.body, mo.tlvs, mo.protocol_id),
                         (b"long" * 100, {"source_port": 1}, 0))

    def test_short_message_wins_over_message_payload(self):
        # Decoded leniently from an upstream: the payload is dropped, not passed on.
        mo = adapt.upstream_delivery(P.DeliverSm(short_message=b"a",
                                                 tlvs={"message_payload": b"b"}), "up")
        self.assertEqual((mo.body, mo.tlvs), (b"a", {}))

    @given(st.binary(max_size=600), st.sampled_from((0x33, 0x34)))
    def test_mo_upstream_to_esme(self, body, version):
        """Whatever way the upstream sent it, the ESME gets the same text."""
        if len(body) <= 254:
            upstream = P.DeliverSm(short_message=body)
        else:
            upstream = P.DeliverSm(tlvs={"message_payload": body})
        entry = adapt.upstream_delivery(wire(upstream), "up")
        self.assertEqual(entry.body, body)
        if version == 0x33 and len(body) > 254:
            return
        pdu = wire(adapt.deliver_pdu(entry, version), version)
        self.assertEqual(pdu.short_message or pdu.tlvs.get("message_payload", b""), body)
