"""Message ids: the router's own, and upstream ids made comparable.

The router hands ESMEs ids of its own, unique across processes and
restarts without a Redis round trip per message: each process takes a block
number from the store at start (an INCR that no other process or later run
can get again) and counts within it. The id is (block << 32 | counter), in
lowercase hex by default or in decimal for clients that want digits.

Upstreams do not always write an id the same way in submit_sm_resp and in
the receipt (Kannel's msg-id-type: hex in one, decimal in the other, or
different case, or leading zeros). Each connector says how it writes each;
normalise() maps both to one key so the receipt finds its mapping.
"""

COUNTER_BITS = 32
COUNTER_LIMIT = 1 << COUNTER_BITS
ID_FORMATS = ("hex", "decimal")
UPSTREAM_FORMATS = ("as-is", "hex", "decimal")


class IdBlockExhausted(Exception):
    """The current block is used up and the next one has not arrived yet."""


class MessageIds:
    """Hands out ids from blocks; asks for the next block before running out."""

    def __init__(self, block: int, refill=None, low_water: int = COUNTER_LIMIT // 8):
        self._blocks = [block]
        self._counter = 0
        self._refill = refill  # callable() -> Deferred(int), or None
        self._low_water = low_water
        self._refilling = False

    def next(self) -> int:
        if self._counter >= COUNTER_LIMIT:
            self._blocks.pop(0)
            self._counter = 0
            if not self._blocks:
                raise IdBlockExhausted("message id block exhausted")
        value = (self._blocks[0] << COUNTER_BITS) | self._counter
        self._counter += 1
        if (self._refill is not None and not self._refilling and len(self._blocks) == 1
                and COUNTER_LIMIT - self._counter <= self._low_water):
            self._refilling = True
            self._refill().addCallback(self._add_block).addBoth(self._refilled)
        return value

    def _add_block(self, block):
        self._blocks.append(block)

    def _refilled(self, result):
        self._refilling = False
        return None


def format_id(value: int, form: str) -> str:
    return "%x" % value if form == "hex" else "%d" % value


def normalise(upstream_id: str, form: str) -> str:
    """A key for an upstream id written in `form`, comparable across forms.

    "as-is" ids are compared as written but for case and surrounding blanks;
    hex and decimal ids are compared by value (so 0x1F, 1f and 31 meet), and
    an id that does not parse in its declared form is kept as written, so a
    misconfigured connector still correlates ids that happen to agree.
    """
    text = upstream_id.strip()
    if form == "as-is":
        return text.lower()
    try:
        return "%d" % int(text, 16 if form == "hex" else 10)
    except ValueError:
        return text.lower()


def key_forms(resp_form: str, receipt_form: str) -> tuple[str, str]:
    """The forms to normalise resp ids and receipt ids with, so that they meet.

    When both sides are as-is, ids compare as text; when either side names
    a numeric form, both compare by value (as-is then means "same as the
    other side").
    """
    if resp_form == receipt_form == "as-is":
        return "as-is", "as-is"
    if resp_form == "as-is":
        resp_form = receipt_form
    if receipt_form == "as-is":
        receipt_form = resp_form
    return resp_form, receipt_form
