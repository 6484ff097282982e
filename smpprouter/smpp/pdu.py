"""The PDUs of SMPP v3.4 as plain slotted dataclasses.

Each class declares its wire layout once (LAYOUT); codec.py compiles that
layout into a straight-line decoder and encoder per type, so there is a
single source of truth and no per-field objects at run time.

PDUs are mutable on purpose: the router rewrites a receipt's ids and TLVs
in place on the hot path, where copying a frozen object per message costs
more than it protects.  Strings are ``str`` (the octets mapped through
Latin-1, so any byte sequence round-trips exactly); short_message and octet
TLVs are ``bytes``.
"""

from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

from .commands import CommandId
from .status import Status as S

# Layout entries: (kind, field name, max length with NUL, status if bad).
CSTR, U8, SM, DESTS, UNSUCCESS = "cstr", "u8", "sm", "dests", "unsuccess"


def _c(name, size, status):
    return (CSTR, name, size, status)


def _u(*names):
    return tuple((U8, name, None, None) for name in names)


class SmeDest(NamedTuple):
    """A submit_multi destination that is an SME address (dest_flag 1)."""
    ton: int
    npi: int
    addr: str


class DistributionList(NamedTuple):
    """A submit_multi destination that is a distribution list name (dest_flag 2)."""
    name: str


class UnsuccessSme(NamedTuple):
    """A submit_multi_resp entry: a destination that was not accepted, and why."""
    ton: int
    npi: int
    addr: str
    error_status: int


@dataclass(slots=True)
class PDU:
    command_status: int = 0
    sequence_number: int = 0

    command_id: ClassVar[int]
    LAYOUT: ClassVar[tuple] = ()


def _tlvs():
    return field(default_factory=dict)


# --- session management ----------------------------------------------------

_BIND_LAYOUT = (
    _c("system_id", 16, S.ESME_RINVSYSID),
    _c("password", 9, S.ESME_RINVPASWD),
    _c("system_type", 13, S.ESME_RINVSYSTYP),
) + _u("interface_version", "addr_ton", "addr_npi") + (
    _c("address_range", 41, S.ESME_RINVSRCADR),
)


@dataclass(slots=True)
class _Bind(PDU):
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    interface_version: int = 0x34
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""

    LAYOUT: ClassVar[tuple] = _BIND_LAYOUT


@dataclass(slots=True)
class BindTransmitter(_Bind):
    command_id: ClassVar[int] = CommandId.bind_transmitter


@dataclass(slots=True)
class BindReceiver(_Bind):
    command_id: ClassVar[int] = CommandId.bind_receiver


@dataclass(slots=True)
class BindTransceiver(_Bind):
    command_id: ClassVar[int] = CommandId.bind_transceiver


@dataclass(slots=True)
class _BindResp(PDU):
    system_id: str = ""
    tlvs: dict = _tlvs()

    LAYOUT: ClassVar[tuple] = (_c("system_id", 16, S.ESME_RINVSYSID),)


@dataclass(slots=True)
class BindTransmitterResp(_BindResp):
    command_id: ClassVar[int] = CommandId.bind_transmitter_resp


@dataclass(slots=True)
class BindReceiverResp(_BindResp):
    command_id: ClassVar[int] = CommandId.bind_receiver_resp


@dataclass(slots=True)
class BindTransceiverResp(_BindResp):
    command_id: ClassVar[int] = CommandId.bind_transceiver_resp


@dataclass(slots=True)
class Outbind(PDU):
    system_id: str = ""
    password: str = ""

    command_id: ClassVar[int] = CommandId.outbind
    LAYOUT: ClassVar[tuple] = _BIND_LAYOUT[:2]


@dataclass(slots=True)
class Unbind(PDU):
    command_id: ClassVar[int] = CommandId.unbind


@dataclass(slots=True)
class UnbindResp(PDU):
    command_id: ClassVar[int] = CommandId.unbind_resp


@dataclass(slots=True)
class EnquireLink(PDU):
    command_id: ClassVar[int] = CommandId.enquire_link


@dataclass(slots=True)
class EnquireLinkResp(PDU):
    command_id: ClassVar[int] = CommandId.enquire_link_resp


@dataclass(slots=True)
class GenericNack(PDU):
    command_id: ClassVar[int] = CommandId.generic_nack


# --- message submission and delivery ---------------------------------------

_SHORT_MESSAGE_LAYOUT = (
    _c("service_type", 6, S.ESME_RINVSERTYP),
    *_u("source_addr_ton", "source_addr_npi"),
    _c("source_addr", 21, S.ESME_RINVSRCADR),
    *_u("dest_addr_ton", "dest_addr_npi"),
    _c("destination_addr", 21, S.ESME_RINVDSTADR),
    *_u("esm_class", "protocol_id", "priority_flag"),
    _c("schedule_delivery_time", 17, S.ESME_RINVSCHED),
    _c("validity_period", 17, S.ESME_RINVEXPIRY),
    *_u("registered_delivery", "replace_if_present_flag", "data_coding", "sm_default_msg_id"),
    (SM, "short_message", 255, S.ESME_RINVMSGLEN),
)


@dataclass(slots=True)
class _ShortMessage(PDU):
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""
    tlvs: dict = _tlvs()

    LAYOUT: ClassVar[tuple] = _SHORT_MESSAGE_LAYOUT


@dataclass(slots=True)
class SubmitSm(_ShortMessage):
    command_id: ClassVar[int] = CommandId.submit_sm


@dataclass(slots=True)
class DeliverSm(_ShortMessage):
    command_id: ClassVar[int] = CommandId.deliver_sm


@dataclass(slots=True)
class _MessageIdResp(PDU):
    message_id: str = ""
    tlvs: dict = _tlvs()

    LAYOUT: ClassVar[tuple] = (_c("message_id", 65, S.ESME_RINVMSGID),)


@dataclass(slots=True)
class SubmitSmResp(_MessageIdResp):
    command_id: ClassVar[int] = CommandId.submit_sm_resp


@dataclass(slots=True)
class DeliverSmResp(_MessageIdResp):
    command_id: ClassVar[int] = CommandId.deliver_sm_resp


@dataclass(slots=True)
class DataSmResp(_MessageIdResp):
    command_id: ClassVar[int] = CommandId.data_sm_resp


@dataclass(slots=True)
class SubmitMulti(PDU):
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addresses: tuple = ()
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""
    tlvs: dict = _tlvs()

    command_id: ClassVar[int] = CommandId.submit_multi
    LAYOUT: ClassVar[tuple] = (
        _SHORT_MESSAGE_LAYOUT[:4]
        + ((DESTS, "dest_addresses", 21, S.ESME_RINVNUMDESTS),)
        + _SHORT_MESSAGE_LAYOUT[7:]
    )


@dataclass(slots=True)
class SubmitMultiResp(PDU):
    message_id: str = ""
    unsuccess_smes: tuple = ()
    tlvs: dict = _tlvs()

    command_id: ClassVar[int] = CommandId.submit_multi_resp
    LAYOUT: ClassVar[tuple] = (
        _c("message_id", 65, S.ESME_RINVMSGID),
        (UNSUCCESS, "unsuccess_smes", 21, S.ESME_RINVDSTADR),
    )


@dataclass(slots=True)
class DataSm(PDU):
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    registered_delivery: int = 0
    data_coding: int = 0
    tlvs: dict = _tlvs()

    command_id: ClassVar[int] = CommandId.data_sm
    LAYOUT: ClassVar[tuple] = (
        _c("service_type", 6, S.ESME_RINVSERTYP),
        *_u("source_addr_ton", "source_addr_npi"),
        _c("source_addr", 65, S.ESME_RINVSRCADR),
        *_u("dest_addr_ton", "dest_addr_npi"),
        _c("destination_addr", 65, S.ESME_RINVDSTADR),
        *_u("esm_class", "registered_delivery", "data_coding"),
    )


# --- message management ----------------------------------------------------

@dataclass(slots=True)
class QuerySm(PDU):
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""

    command_id: ClassVar[int] = CommandId.query_sm
    LAYOUT: ClassVar[tuple] = (
        _c("message_id", 65, S.ESME_RINVMSGID),
        *_u("source_addr_ton", "source_addr_npi"),
        _c("source_addr", 21, S.ESME_RINVSRCADR),
    )


@dataclass(slots=True)
class QuerySmResp(PDU):
    message_id: str = ""
    final_date: str = ""
    message_state: int = 0
    error_code: int = 0

    command_id: ClassVar[int] = CommandId.query_sm_resp
    LAYOUT: ClassVar[tuple] = (
        _c("message_id", 65, S.ESME_RINVMSGID),
        _c("final_date", 17, S.ESME_RINVCMDLEN),
        *_u("message_state", "error_code"),
    )


@dataclass(slots=True)
class CancelSm(PDU):
    service_type: str = ""
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""

    command_id: ClassVar[int] = CommandId.cancel_sm
    LAYOUT: ClassVar[tuple] = (
        _c("service_type", 6, S.ESME_RINVSERTYP),
        _c("message_id", 65, S.ESME_RINVMSGID),
        *_u("source_addr_ton", "source_addr_npi"),
        _c("source_addr", 21, S.ESME_RINVSRCADR),
        *_u("dest_addr_ton", "dest_addr_npi"),
        _c("destination_addr", 21, S.ESME_RINVDSTADR),
    )


@dataclass(slots=True)
class CancelSmResp(PDU):
    command_id: ClassVar[int] = CommandId.cancel_sm_resp


@dataclass(slots=True)
class ReplaceSm(PDU):
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""

    command_id: ClassVar[int] = CommandId.replace_sm
    LAYOUT: ClassVar[tuple] = (
        _c("message_id", 65, S.ESME_RINVMSGID),
        *_u("source_addr_ton", "source_addr_npi"),
        _c("source_addr", 21, S.ESME_RINVSRCADR),
        _c("schedule_delivery_time", 17, S.ESME_RINVSCHED),
        _c("validity_period", 17, S.ESME_RINVEXPIRY),
        *_u("registered_delivery", "sm_default_msg_id"),
        (SM, "short_message", 255, S.ESME_RINVMSGLEN),
    )


@dataclass(slots=True)
class ReplaceSmResp(PDU):
    command_id: ClassVar[int] = CommandId.replace_sm_resp


@dataclass(slots=True)
class AlertNotification(PDU):
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    esme_addr_ton: int = 0
    esme_addr_npi: int = 0
    esme_addr: str = ""
    tlvs: dict = _tlvs()

    command_id: ClassVar[int] = CommandId.alert_notification
    LAYOUT: ClassVar[tuple] = (
        *_u("source_addr_ton", "source_addr_npi"),
        _c("source_addr", 65, S.ESME_RINVSRCADR),
        *_u("esme_addr_ton", "esme_addr_npi"),
        _c("esme_addr", 65, S.ESME_RINVDSTADR),
    )


ALL = (
    BindTransmitter, BindTransmitterResp, BindReceiver, BindReceiverResp,
    BindTransceiver, BindTransceiverResp, Outbind, Unbind, UnbindResp,
    EnquireLink, EnquireLinkResp, GenericNack,
    SubmitSm, SubmitSmResp, DeliverSm, DeliverSmResp, SubmitMulti, SubmitMultiResp,
    DataSm, DataSmResp, QuerySm, QuerySmResp, CancelSm, CancelSmResp,
    ReplaceSm, ReplaceSmResp, AlertNotification,
)
BY_COMMAND_ID = {cls.command_id: cls for cls in ALL}
