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

The same table read the other way round is a user's code vocabulary (a user's
`receipt_codes`, ReceiptProfile): each canonical err back to the first upstream
code of [err] mapped to it, in file order. Where that is not right (a code
no upstream code maps to, or one whose first is not the best answer) the
file's `[reverse]` table says it: canonical code = upstream code.

    [reverse]
    "99" = "099"   # receipt timeout: seed 002's 099
"""

from dataclasses import dataclass

from .smpp.receipt import restyle, stat_to_state
from .tomlfile import TomlFile

_STAT_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def code_key(code) -> str:
    """How a code is looked up: digits as their number ("001" -> "1"), else upper case."""
    text = str(code).strip()
    return str(int(text)) if text.isdigit() else text.upper()


def load_receipt_map(path: str) -> tuple:
    """((("err" | "stat", code_key), (stat, err)), ...) from the file at path."""
    tf = TomlFile(path)
    extra = set(tf.data) - {"err", "stat", "reverse"}
    if extra:
        name = sorted(extra)[0]
        raise tf.error((name,), "unknown table: a receipt map has [err], [stat] and [reverse]")
    _reverse_entries(tf)   # checked with the rest, used by load_reverse_map
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


def _reverse_entries(tf) -> dict:
    table = tf.data.get("reverse", {})
    if not isinstance(table, dict):
        raise tf.error(("reverse",), 'must be a table of canonical code = "upstream code"')
    out = {}
    for code, upstream in table.items():
        if not code.strip().isdigit() or not 0 <= int(code) <= 999:
            raise tf.error(("reverse", code), "a canonical err code: a number 0-999")
        if not isinstance(upstream, str) or not upstream.isdigit() or len(upstream) > 3:
            raise tf.error(("reverse", code), 'an upstream err code: 1-3 digits, as "099"')
        out[int(code)] = upstream.zfill(3).encode("ascii")
    return out


def load_reverse_map(path: str) -> dict:
    """{canonical err: upstream err bytes (three digits)} of the receipt map at
    path: its [err] table reversed (the first code for each, in file order),
    then its [reverse] table over it."""
    tf = TomlFile(path)
    entries = load_receipt_map(path)
    out = {}
    for (kind, code), (_, err) in entries:
        if kind == "err" and code.isdigit() and err not in out:
            out[err] = code.zfill(3).encode("ascii")
    out.update(_reverse_entries(tf))
    return out


DATE_LENGTHS = {"as-sent": 0, "minutes": 10, "seconds": 12}
TEXT_KEYS = {"as-sent": b"", "text": b"text", "Text": b"Text"}
DLVRD = {"as-sent": False, "omit": True}


@dataclass(frozen=True, slots=True)
class ReceiptProfile:
    """How one user's receipts are written (users.NAME receipt_dates,
    receipt_text, receipt_codes): what the vendor it came from promised. A
    user without any has none (None), and its receipts keep today's bytes."""

    date_length: int = 0      # 10: YYMMDDhhmm, 12: YYMMDDhhmmss, 0: as written
    text_key: bytes = b""     # b"text" or b"Text"; b"": as written
    codes: dict | None = None   # canonical err -> the user's; None: canonical
    drop_dlvrd: bool = False    # True: no `dlvrd:` field (seed 000's format)

    @property
    def seconds(self) -> bool:
        """Whether the router's own receipts give seconds (their dates are exact)."""
        return self.date_length == 12

    def apply(self, text: bytes) -> bytes:
        return restyle(text, self.date_length, self.text_key, self.codes, self.drop_dlvrd)
