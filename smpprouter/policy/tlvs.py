"""The TLVs a route requires (seed 002's DLT ids), and a user's defaults for them.

A route's `require_tlvs` names TLVs a message must carry there; a user's
`tlv_defaults` supply the ones its message lacks, on such routes only (a
message to a route without requirements goes out as the user sent it). A TLV
that is present but empty (or only NULs, the C-string convention some DLT
platforms expect) counts as missing: the platform would refuse it anyway.
"""


def present(value) -> bool:
    if value is None:
        return False
    if type(value) is str:
        return bool(value.strip("\x00"))
    if type(value) is bytes:
        return bool(value.strip(b"\x00"))
    return True


def complete(tlvs: dict, required: tuple, defaults: tuple):
    """tlvs (the same dict when nothing was added, else a new one) with the
    defaults ((name, value), ...) for the TLVs it lacks; None when a required
    one is still missing."""
    out = tlvs
    for name, value in defaults:
        if not present(tlvs.get(name)):
            if out is tlvs:
                out = dict(tlvs)
            out[name] = value
    for name in required:
        if not present(out.get(name)):
            return None
    return out
