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
