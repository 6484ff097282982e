"""What an HTTP message carries to its receipt: the client's ids and its webhook URL.

It travels as the Submission's `reference` (queued with the message, kept in
its mapping, copied into its receipt), as a compact JSON object of the keys
given: correlationid, notifyurl, notifydata, callbackData. The core reads one
thing of it, whether "notifyurl" is there (core/inbox.py: such a receipt goes
to the webhook queue); SMPP messages have no reference and pay nothing.
"""

import json

KEYS = ("correlationid", "notifyurl", "notifydata", "callbackData")
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def encode_meta(meta: dict) -> str:
    """The reference for meta: "" when it has nothing to carry."""
    kept = {k: meta[k] for k in KEYS if meta.get(k)}
    return _dumps(kept) if kept else ""


def decode_meta(reference: str) -> dict:
    """The keys of a reference encode_meta made; {} for any other reference."""
    if not reference or reference[0] != "{":
        return {}
    try:
        value = json.loads(reference)
    except ValueError:
        return {}
    if type(value) is not dict:
        return {}
    return {k: v for k, v in value.items() if k in KEYS and type(v) is str}
