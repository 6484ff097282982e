"""SMPP command_status values with the texts customers see.

The table is the union of SMPP v3.4 and the vendor documents the product
was specified from (the seeds 000 and 002), including the v5.0 service-type codes and the
vendor code 0x40B that seed 002 hands its customers. Where a vendor spells
a name differently (ESME_RMSSQFUL) the spelling is kept as an alias so
that either name works in configuration files.
"""

from enum import IntEnum


class Status(IntEnum):
    ESME_ROK = 0x00000000
    ESME_RINVMSGLEN = 0x00000001
    ESME_RINVCMDLEN = 0x00000002
    ESME_RINVCMDID = 0x00000003
    ESME_RINVBNDSTS = 0x00000004
    ESME_RALYBND = 0x00000005
    ESME_RINVPRTFLG = 0x00000006
    ESME_RINVREGDLVFLG = 0x00000007
    ESME_RSYSERR = 0x00000008
    ESME_RINVSRCADR = 0x0000000A
    ESME_RINVDSTADR = 0x0000000B
    ESME_RINVMSGID = 0x0000000C
    ESME_RBINDFAIL = 0x0000000D
    ESME_RINVPASWD = 0x0000000E
    ESME_RINVSYSID = 0x0000000F
    ESME_RCANCELFAIL = 0x00000011
    ESME_RREPLACEFAIL = 0x00000013
    ESME_RMSGQFUL = 0x00000014
    ESME_RMSSQFUL = 0x00000014
    ESME_RINVSERTYP = 0x00000015
    ESME_RINVNUMDESTS = 0x00000033
    ESME_RINVDLNAME = 0x00000034
    ESME_RINVDESTFLAG = 0x00000040
    ESME_RINVSUBREP = 0x00000042
    ESME_RINVESMCLASS = 0x00000043
    ESME_RCNTSUBDL = 0x00000044
    ESME_RSUBMITFAIL = 0x00000045
    ESME_RINVSRCTON = 0x00000048
    ESME_RINVSRCNPI = 0x00000049
    ESME_RINVDSTTON = 0x00000050
    ESME_RINVDSTNPI = 0x00000051
    ESME_RINVSYSTYP = 0x00000053
    ESME_RINVREPFLAG = 0x00000054
    ESME_RINVNUMMSGS = 0x00000055
    ESME_RTHROTTLED = 0x00000058
    ESME_RINVSCHED = 0x00000061
    ESME_RINVEXPIRY = 0x00000062
    ESME_RINVDFTMSGID = 0x00000063
    ESME_RX_T_APPN = 0x00000064
    ESME_RX_P_APPN = 0x00000065
    ESME_RX_R_APPN = 0x00000066
    ESME_RQUERYFAIL = 0x00000067
    ESME_RINVTLVSTREAM = 0x000000C0
    ESME_RTLVNOTALLWD = 0x000000C1
    ESME_RINVTLVLEN = 0x000000C2
    ESME_RMISSINGTLV = 0x000000C3
    ESME_RINVTLVVAL = 0x000000C4
    ESME_RDELIVERYFAILURE = 0x000000FE
    ESME_RUNKNOWNERR = 0x000000FF
    ESME_RSERTYPUNAUTH = 0x00000100
    ESME_RPROHIBITED = 0x00000101
    ESME_RSERTYPUNAVAIL = 0x00000102
    ESME_RSERTYPDENIED = 0x00000103
    ESME_RINVDCS = 0x00000104
    ESME_RINVSRCADDRSUBUNIT = 0x00000105
    ESME_RINVDSTADDRSUBUNIT = 0x00000106
    ESME_RINVSTDADDRSUBUNIR = 0x00000106
    ESME_RINVBALANCE = 0x0000040B


_TEXTS = {
    Status.ESME_ROK: "No error",
    Status.ESME_RINVMSGLEN: "Message length is invalid",
    Status.ESME_RINVCMDLEN: "Command length is invalid",
    Status.ESME_RINVCMDID: "Command ID is invalid or not supported",
    Status.ESME_RINVBNDSTS: "Incorrect bind status for given command",
    Status.ESME_RALYBND: "ESME already in bound state",
    Status.ESME_RINVPRTFLG: "Invalid priority flag",
    Status.ESME_RINVREGDLVFLG: "Invalid registered delivery flag",
    Status.ESME_RSYSERR: "System error",
    Status.ESME_RINVSRCADR: "Invalid source address",
    Status.ESME_RINVDSTADR: "Invalid destination address",
    Status.ESME_RINVMSGID: "Message ID is invalid",
    Status.ESME_RBINDFAIL: "Bind failed",
    Status.ESME_RINVPASWD: "Invalid password",
    Status.ESME_RINVSYSID: "Invalid system ID",
    Status.ESME_RCANCELFAIL: "Cancelling message failed",
    Status.ESME_RREPLACEFAIL: "Message replacement failed",
    Status.ESME_RMSGQFUL: "Message queue full",
    Status.ESME_RINVSERTYP: "Invalid service type",
    Status.ESME_RINVNUMDESTS: "Invalid number of destinations",
    Status.ESME_RINVDLNAME: "Invalid distribution list name",
    Status.ESME_RINVDESTFLAG: "Invalid destination flag",
    Status.ESME_RINVSUBREP: "Invalid submit with replace request",
    Status.ESME_RINVESMCLASS: "Invalid esm_class field data",
    Status.ESME_RCNTSUBDL: "Cannot submit to distribution list",
    Status.ESME_RSUBMITFAIL: "Submitting message has failed",
    Status.ESME_RINVSRCTON: "Invalid source address type of number (TON)",
    Status.ESME_RINVSRCNPI: "Invalid source address numbering plan (NPI)",
    Status.ESME_RINVDSTTON: "Invalid destination address type of number (TON)",
    Status.ESME_RINVDSTNPI: "Invalid destination address numbering plan (NPI)",
    Status.ESME_RINVSYSTYP: "Invalid system type",
    Status.ESME_RINVREPFLAG: "Invalid replace_if_present flag",
    Status.ESME_RINVNUMMSGS: "Invalid number of messages",
    Status.ESME_RTHROTTLED: "Throttling error (ESME has exceeded allowed message limits)",
    Status.ESME_RINVSCHED: "Invalid scheduled delivery time",
    Status.ESME_RINVEXPIRY: "Invalid message validity period (expiry time)",
    Status.ESME_RINVDFTMSGID: "Predefined message not found",
    Status.ESME_RX_T_APPN: "ESME receiver temporary application error",
    Status.ESME_RX_P_APPN: "ESME receiver permanent application error",
    Status.ESME_RX_R_APPN: "ESME receiver reject message error",
    Status.ESME_RQUERYFAIL: "Message query request failed",
    Status.ESME_RINVTLVSTREAM: "Error in the optional part of the PDU body",
    Status.ESME_RTLVNOTALLWD: "TLV not allowed",
    Status.ESME_RINVTLVLEN: "Invalid parameter length",
    Status.ESME_RMISSINGTLV: "Expected TLV missing",
    Status.ESME_RINVTLVVAL: "Invalid TLV value",
    Status.ESME_RDELIVERYFAILURE: "Transaction delivery failure",
    Status.ESME_RUNKNOWNERR: "Unknown error",
    Status.ESME_RSERTYPUNAUTH: "ESME not authorised to use specified service type",
    Status.ESME_RPROHIBITED: "ESME prohibited from using specified operation",
    Status.ESME_RSERTYPUNAVAIL: "Specified service type is unavailable",
    Status.ESME_RSERTYPDENIED: "Specified service type is denied",
    Status.ESME_RINVDCS: "Invalid data coding scheme",
    Status.ESME_RINVSRCADDRSUBUNIT: "Invalid source address subunit",
    Status.ESME_RINVDSTADDRSUBUNIT: "Invalid destination address subunit",
    Status.ESME_RINVBALANCE: "Insufficient credits to send message",
}


def status_text(status: int) -> str:
    """The customer-facing text of a status, also for values we do not know."""
    try:
        return _TEXTS[Status(status)]
    except ValueError:
        return "Vendor-specific error 0x%08X" % status


def status_name(status: int) -> str:
    try:
        return Status(status).name
    except ValueError:
        return "0x%08X" % status


def parse_status(text: str) -> int:
    """A status from configuration: a name (ESME_RTHROTTLED) or a number (0x58, 88)."""
    text = text.strip()
    try:
        return Status[text.upper()].value
    except KeyError:
        pass
    try:
        value = int(text, 0)
    except ValueError:
        raise ValueError("unknown SMPP status %r" % text) from None
    if not 0 <= value <= 0xFFFFFFFF:
        raise ValueError("SMPP status %r out of range" % text)
    return value
