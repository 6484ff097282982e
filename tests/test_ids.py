from hypothesis import given
from hypothesis import strategies as st
from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.ids import (COUNTER_LIMIT, SHORT, SHORT_SPACE, IdBlockExhausted, MessageIds,
                            format_id, format_short, key_forms, normalise)


class MessageIdTests(SynchronousTestCase):
    def test_ids_are_unique_across_blocks(self):
        a, b = MessageIds(1), MessageIds(2)
        ids = {a.next() for _ in range(1000)} | {b.next() for _ in range(1000)}
        self.assertEqual(len(ids), 2000)

    def test_formats(self):
        value = (7 << 32) | 255
        self.assertEqual(format_id(value, "hex"), "7000000ff")
        self.assertEqual(format_id(value, "decimal"), str(value))
        self.assertLessEqual(len(format_id((1 << 64) - 1, "hex")), 64)

    def test_next_block_is_fetched_before_running_out(self):
        asked = []

        def refill():
            asked.append(1)
            return defer.succeed(9)

        ids = MessageIds(3, refill, low_water=10)
        ids._counter = COUNTER_LIMIT - 11
        ids.next()
        self.assertEqual(asked, [1])
        for _ in range(10):
            ids.next()
        self.assertEqual(ids.next() >> 32, 9)

    def test_exhausted_without_refill(self):
        ids = MessageIds(3)
        ids._counter = COUNTER_LIMIT
        self.assertRaises(IdBlockExhausted, ids.next)


class ShortIdTests(SynchronousTestCase):
    """v3.3 sessions' ids: 8 characters, unique across processes for years."""

    @given(st.integers(0, (1 << 64) - 1))
    def test_eight_characters_of_base36(self, value):
        text = format_short(value)
        self.assertEqual(len(text), 8)
        self.assertEqual(int(text, 36), value % SHORT_SPACE)

    def test_blocks_give_disjoint_ids_and_never_a_long_one(self):
        a, b = MessageIds(1, short_block=2), MessageIds(3, short_block=4)
        short = {a.new(SHORT) for _ in range(1000)} | {b.new(SHORT) for _ in range(1000)}
        self.assertEqual(len(short), 2000)
        self.assertEqual({len(i) for i in short}, {8})
        self.assertTrue(all(len(a.new(form)) > 8 for form in ("hex", "decimal")))
        self.assertEqual(a.new(SHORT), format_short((2 << 20) | 1000))

    def test_a_short_block_is_2_20_ids_and_the_next_is_fetched_in_time(self):
        blocks = iter(range(10, 20))
        asked = []

        def refill():
            asked.append(1)
            return defer.succeed(next(blocks))

        ids = MessageIds(1, refill, short_block=5)
        for _ in range(1 << 20):
            ids.short.next()
        self.assertEqual(asked, [1])   # at 7/8 of the block, not when it ran out
        self.assertEqual(ids.short.next() >> 20, 10)
        self.assertEqual(ids.next() >> 32, 1)   # the long ids' block is untouched

    def test_wrap_around_horizon(self):
        # the short space holds 2,690,420 blocks of 2**20: about 8.9 years at 10,000/s
        self.assertEqual(SHORT_SPACE >> 20, 2690420)
        self.assertGreater(SHORT_SPACE / 10000 / 86400 / 365, 8.9)


class NormaliseTests(SynchronousTestCase):
    def test_hex_resp_meets_decimal_receipt(self):
        resp, receipt = key_forms("hex", "decimal")
        self.assertEqual(normalise("1F", resp), normalise("31", receipt))

    def test_as_is_ignores_case_and_blanks(self):
        self.assertEqual(normalise(" AbC ", "as-is"), normalise("abc", "as-is"))

    def test_as_is_follows_the_other_side(self):
        self.assertEqual(key_forms("as-is", "hex"), ("hex", "hex"))
        self.assertEqual(key_forms("decimal", "as-is"), ("decimal", "decimal"))

    def test_leading_zeros(self):
        self.assertEqual(normalise("000123", "decimal"), normalise("123", "decimal"))

    def test_unparseable_kept(self):
        self.assertEqual(normalise("x-12", "hex"), "x-12")

    @given(st.integers(0, 2**64))
    def test_any_value_meets_across_forms(self, value):
        resp, receipt = key_forms("hex", "decimal")
        self.assertEqual(normalise("%X" % value, resp), normalise("%d" % value, receipt))


class _NaiveIds:
    """MessageIds.next as it was first written (every test on every id): the
    model the fast path is held to. (That version went on to an IndexError
    once out of blocks; the model, as MessageIds now, says IdBlockExhausted.)"""

    def __init__(self, block, refill, low_water, bits):
        self.bits, self.limit, self.blocks, self.counter = bits, 1 << bits, [block], 0
        self.refill, self.low_water, self.refilling = refill, low_water, False

    def next(self):
        if self.counter >= self.limit:
            self.blocks.pop(0)
            self.counter = 0
        if not self.blocks:
            raise IdBlockExhausted("exhausted")
        value = (self.blocks[0] << self.bits) | self.counter
        self.counter += 1
        if (not self.refilling and len(self.blocks) == 1
                and self.limit - self.counter <= self.low_water):
            self.refilling = True
            self.refill().addCallback(self.blocks.append).addBoth(self._done)
        return value

    def _done(self, _):
        self.refilling = False


class FastPathTests(SynchronousTestCase):
    @given(st.integers(0, 5), st.integers(0, 10),
           st.lists(st.sampled_from(["id", "id", "id", "block", "fail"]), max_size=120))
    def test_ids_and_refills_as_the_naive_model(self, bits, low_water, steps):
        """Blocks arriving late, refills failing, blocks running out: the same
        ids, the same IdBlockExhausted and the same refills asked for."""
        sides = []
        for make in (lambda r: MessageIds(1, r, low_water, bits),
                     lambda r: _NaiveIds(1, r, low_water, bits)):
            pending, blocks = [], iter(range(2, 1000))

            def refill(pending=pending):
                d = defer.Deferred()
                pending.append(d)
                return d
            ids, seen = make(refill), []
            for step in steps:
                if step == "id":
                    try:
                        seen.append(ids.next())
                    except IdBlockExhausted:
                        seen.append("exhausted")
                elif pending:
                    d = pending.pop(0)
                    if step == "block":
                        d.callback(next(blocks))
                    else:
                        d.errback(RuntimeError("no block"))
                    seen.append(step)
            sides.append(seen)
        self.assertEqual(sides[0], sides[1])
