"""Message ids: the router's own, and upstream ids made comparable.

The router hands ESMEs ids of its own, unique across processes and
restarts without a Redis round trip per message: each process takes a block
number from the store at start (an INCR that no other process or later run
can get again) and counts within it. The id is (block << 32 | counter), in
lowercase hex by default or in decimal for clients that want digits.

SMPP v3.3 allows 8 characters in a submit_sm_resp's message_id, and those
forms take 9 or more (block >= 1). A v3.3 session gets the SHORT form
instead: exactly 8 characters of lowercase base 36 (0-9, a-z), from blocks of
2**20 ids drawn from the same store counter (block << 20 | counter). 36**8
holds 2,690,420 such blocks; the short value wraps around past them, so a short
id is unique until that many blocks have been drawn since: one per 2**20 v3.3
ids, one per process start, one per 2**32 ids of the long forms. At 10,000
v3.3 messages/s without pause, about 8.9 years; a repeat that far apart meets
no live record (records last validity + dlr_expiry). Decimal users bound as
v3.3 get it too: 8 digits cannot stay unique across processes for long
(10**8 ids). Short ids never equal a long one (8 characters against 9+).

Upstreams do not always write an id the same way in submit_sm_resp and in
the receipt (Kannel's msg-id-type: hex in one, decimal in the other, or
different case, or leading zeros). Each connector says how it writes each;
normalise() maps both to one key so the receipt finds its mapping.
"""

COUNTER_BITS = 32
COUNTER_LIMIT = 1 << COUNTER_BITS
ID_FORMATS = ("hex", "decimal")
SHORT = "short"             # a session's form, never a user's setting (see above)
SHORT_COUNTER_BITS = 20
SHORT_LENGTH = 8
SHORT_SPACE = 36 ** SHORT_LENGTH
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
UPSTREAM_FORMATS = ("as-is", "hex", "decimal")


class IdBlockExhausted(Exception):
    """The current block is used up and the next one has not arrived yet."""


class MessageIds:
    """Hands out ids from blocks; asks for the next block before running out."""

    def __init__(self, block: int, refill=None, low_water: int | None = None,
                 bits: int = COUNTER_BITS, short_block: int | None = None):
        self._bits = bits
        self._limit = 1 << bits
        self._blocks = [block]
        self._counter = 0
        self._refill = refill  # callable() -> Deferred(int), or None
        self._low_water = self._limit // 8 if low_water is None else low_water
        self._refilling = False
        self._rewatch()
        self.short = None
        if bits == COUNTER_BITS:
            # The SHORT form's ids: blocks of their own from the same counter
            # (a service passes one; one process alone may share its block).
            self.short = MessageIds(block if short_block is None else short_block, refill,
                                    bits=SHORT_COUNTER_BITS)

    def new(self, form: str) -> str:
        """The next id, written in form ("hex", "decimal" or SHORT)."""
        if form == SHORT:
            return format_short(self.short.next())
        counter = self._counter
        if counter < self._watch:   # next(), inline: one id per message
            self._counter = counter + 1
            value = self._base | counter
        else:
            value = self._next_checked()
        return "%x" % value if form == "hex" else "%d" % value   # format_id, inline

    def next(self) -> int:
        counter = self._counter
        if counter < self._watch:   # one test per id until the block's low water
            self._counter = counter + 1
            return self._base | counter
        return self._next_checked()

    def _next_checked(self) -> int:
        """next() at the block's low water or end (or with no block)."""
        if self._counter >= self._limit:
            self._blocks.pop(0)
            self._counter = 0
        if not self._blocks:
            self._rewatch()
            raise IdBlockExhausted("message id block exhausted")
        value = (self._blocks[0] << self._bits) | self._counter
        self._counter += 1
        if (self._refill is not None and not self._refilling and len(self._blocks) == 1
                and self._limit - self._counter <= self._low_water):
            self._refilling = True
            self._refill().addCallback(self._add_block).addBoth(self._refilled)
        self._rewatch()
        return value

    def _rewatch(self):
        """Where next() must look again: the counter value from which the next
        id needs a refill asked for (one block, none asked yet), else the
        block's end; 0 (always) without a block."""
        blocks = self._blocks
        if not blocks:
            self._base, self._watch = 0, 0
            return
        self._base = blocks[0] << self._bits
        if self._refill is not None and not self._refilling and len(blocks) == 1:
            self._watch = max(0, self._limit - self._low_water - 1)
        else:
            self._watch = self._limit

    def _add_block(self, block):
        self._blocks.append(block)
        self._rewatch()

    def _refilled(self, result):
        self._refilling = False
        self._rewatch()
        return None


def format_id(value: int, form: str) -> str:
    return "%x" % value if form == "hex" else "%d" % value


def format_short(value: int) -> str:
    """value (mod 36**8) as 8 characters of base 36: the SHORT form."""
    value %= SHORT_SPACE
    out = []
    for _ in range(SHORT_LENGTH):
        value, digit = divmod(value, 36)
        out.append(_BASE36[digit])
    return "".join(reversed(out))


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
