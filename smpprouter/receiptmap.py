"""A connector's receipt mapping table: its upstream's stat/err vocabulary
turned into the one the router's users see (seed 000's codes), whatever the route.

A table is a TOML file in etc/ (etc/receipt-maps/), named by a connector's
`receipt_map`. Each entry maps what the upstream wrote to a canonical
(stat, err): `[err]` by the receipt's err (seed 002's three-digit codes),
`[stat]` by its stat, for receipts whose err has no entry. Codes are matched
as numbers when they are digits ("001" and "1" are one code). A receipt
that matches nothing passes as the upstream wrote it.

    [err]
    "401" = { stat = "UNDELIV", err = 12 }   # NO-CREDITS: insufficient credit

Loaded once with the config; every error names file, line and key.
"""

from .smpp.receipt import stat_to_state
from .tomlfile import TomlFile

_STAT_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def code_key(code) -> str:
    """How a code is looked up: digits as their number ("001" -> "1"), else upper case."""
    text = str(code).strip()
    return str(int(text)) if text.isdigit() else text.upper()


def load_receipt_map(path: str) -> tuple:
    """((("err" | "stat", code_key), (stat, err)), ...) from the file at path."""
    tf = TomlFile(path)
    extra = set(tf.data) - {"err", "stat"}
    if extra:
        name = sorted(extra)[0]
        raise tf.error((name,), "unknown table: a receipt map has [err] and [stat]")
    out = []
    for kind in ("err", "stat"):
        table = tf.data.get(kind, {})
        if not isinstance(table, dict):
            raise tf.error((kind,), "must be a table of code = { stat = ..., err = ... }")
        for code, entry in table.items():
            key = (kind, code)
            if not code.strip():
                raise tf.error(key, "an empty code matches nothing")
            if not isinstance(entry, dict) or set(entry) - {"stat", "err"} \
                    or "stat" not in entry:
                raise tf.error(key, "must be { stat = \"DELIVRD\", err = 0 } (err optional)")
            stat = entry["stat"]
            if not isinstance(stat, str) or not stat or not set(stat) <= _STAT_CHARS:
                raise tf.error(key + ("stat",), "a receipt stat: upper-case letters, digits, "
                               "'-' or '_', such as DELIVRD or UNDELIV")
            err = entry.get("err", 0)
            if type(err) is not int or not 0 <= err <= 999:
                raise tf.error(key + ("err",), "a number 0-999 (written as three digits)")
            out.append(((kind, code_key(code)), (stat, err)))
    return tuple(out)


class ReceiptMap:
    """The lookup: (stat, err) -> the canonical (stat, err, message_state), or None."""

    __slots__ = ("_table",)

    def __init__(self, entries):
        self._table = {key: (stat, err, int(stat_to_state(stat, err)))
                       for key, (stat, err) in entries}

    def __bool__(self):
        return bool(self._table)

    def lookup(self, stat, err):
        table = self._table
        if err is not None:
            found = table.get(("err", code_key(err)))
            if found is not None:
                return found
        if stat is not None:
            return table.get(("stat", code_key(stat)))
        return None
