"""Hypothesis strategies for every PDU type, derived from the classes' LAYOUT
so a new PDU type or field is covered without touching the tests."""

from hypothesis import strategies as st

from smpprouter.smpp import pdu as P
from smpprouter.smpp import tlv as T
from smpprouter.smpp.commands import CommandId
from smpprouter.smpp.pdu import CSTR, DESTS, SM, U8, UNSUCCESS

u8 = st.integers(0, 255)


def cstr(size):
    # Any Latin-1 text without NUL: the codec maps octets 1:1 through Latin-1.
    return st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=size - 1)


smpp_time = st.one_of(
    st.just(""),
    st.builds(lambda d, s: d + s, st.text("0123456789", min_size=15, max_size=15),
              st.sampled_from("+-R")),
)
ton = st.integers(0, 6)
npi = st.sampled_from((0, 1, 3, 4, 6, 8, 9, 10, 14, 18))
registered_delivery = st.builds(lambda r, a, i: r | a | i, st.sampled_from((0, 1, 2)),
                                st.sampled_from((0, 4, 8, 12)), st.sampled_from((0, 16)))
data_coding = st.one_of(st.sampled_from((0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 14)),
                        st.integers(0x10, 0x7F), st.integers(0xC0, 0xFF))


def esm_class(types):
    return st.builds(lambda mode, kind, gsm: mode | kind | gsm, st.integers(0, 3),
                     st.sampled_from(types), st.sampled_from((0, 0x40, 0x80, 0xC0)))


ESME_TYPES = (0, 0x08, 0x10)
SMSC_TYPES = (0, 0x04, 0x08, 0x10, 0x18, 0x20)

FIELD_OVERRIDES = {
    "source_addr_ton": ton, "dest_addr_ton": ton, "esme_addr_ton": ton, "addr_ton": ton,
    "source_addr_npi": npi, "dest_addr_npi": npi, "esme_addr_npi": npi, "addr_npi": npi,
    "priority_flag": st.integers(0, 3),
    "replace_if_present_flag": st.integers(0, 1),
    "registered_delivery": registered_delivery,
    "data_coding": data_coding,
    "schedule_delivery_time": smpp_time,
    "validity_period": smpp_time,
    "esm_class": esm_class(ESME_TYPES),
}
CLASS_OVERRIDES = {
    P.DeliverSm: {"esm_class": esm_class(SMSC_TYPES), "priority_flag": u8,
                  "replace_if_present_flag": u8, "schedule_delivery_time": cstr(17),
                  "validity_period": cstr(17)},
    P.DataSm: {"esm_class": esm_class(tuple(set(ESME_TYPES + SMSC_TYPES)))},
}

_KIND_VALUES = {
    T.U8: u8, T.U16: st.integers(0, 0xFFFF), T.U32: st.integers(0, 0xFFFFFFFF),
    T.NETERR: st.builds(T.NetworkErrorCode, u8, st.integers(0, 0xFFFF)),
    T.TEXT: st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=40),
    T.FLAG: st.one_of(st.just(True), u8),
}


def _tlv_value(kind, limit):
    if kind == T.CSTR:
        return cstr(min(limit, 70))
    if kind == T.OCTETS:
        return st.binary(min_size=limit[0], max_size=min(limit[1], 300))
    return _KIND_VALUES[kind]


known_tlv = st.sampled_from(sorted(T.SPECS)).flatmap(
    lambda name: st.tuples(st.just(name), _tlv_value(*T.SPECS[name][1:])))
unknown_tag = st.integers(0, 0xFFFF).filter(lambda t: t not in T.BY_TAG)
unknown_tlv = st.tuples(unknown_tag, st.binary(max_size=40))
tlvs = st.lists(st.one_of(known_tlv, unknown_tlv), max_size=6,
                unique_by=lambda kv: kv[0]).map(dict)

sme_dest = st.builds(P.SmeDest, ton, npi, cstr(21))
dl_dest = st.builds(P.DistributionList, cstr(21))
dest_addresses = st.lists(st.one_of(sme_dest, dl_dest), min_size=1, max_size=8).map(tuple)
unsuccess = st.lists(st.builds(P.UnsuccessSme, u8, u8, cstr(21), st.integers(0, 0xFFFFFFFF)),
                     max_size=5).map(tuple)


def _field(cls, entry):
    kind, name, size, _ = entry
    override = CLASS_OVERRIDES.get(cls, {}).get(name, FIELD_OVERRIDES.get(name))
    if override is not None:
        return override
    if kind == CSTR:
        return cstr(size)
    if kind == U8:
        return u8
    if kind == SM:
        return st.binary(max_size=254)
    if kind == DESTS:
        return dest_addresses
    if kind == UNSUCCESS:
        return unsuccess
    raise AssertionError(kind)


def pdu_of(cls):
    kwargs = {e[1]: _field(cls, e) for e in cls.LAYOUT}
    if "tlvs" in cls.__dataclass_fields__:
        kwargs["tlvs"] = tlvs
    is_resp = bool(cls.command_id & 0x80000000)
    kwargs["command_status"] = st.integers(0, 0xFFFFFFFF) if is_resp else st.just(0)
    kwargs["sequence_number"] = st.integers(1, 0x7FFFFFFF)
    return st.builds(cls, **kwargs)


any_pdu = st.sampled_from(P.ALL).flatmap(pdu_of)
v34_only = frozenset((CommandId.data_sm, CommandId.data_sm_resp, CommandId.bind_transceiver,
                      CommandId.bind_transceiver_resp))
