"""The pure policy functions: sender ids, required TLVs, accounts, receipts relayed."""

from hypothesis import given, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.config import User
from smpprouter.core.mt import message_parts
from smpprouter.core.receipts import relays
from smpprouter.core.messages import Submission
from smpprouter.policy import accounts as a
from smpprouter.policy.accounts import system_type_ok
from smpprouter.policy.senders import sender_matcher
from smpprouter.policy.tlvs import complete


class SenderTests(SynchronousTestCase):

    def test_exact_and_globs(self):
        allowed = sender_matcher(("MyBrand", "4479*", "VF-???BK", "[AB]1"))
        for source, ok in (("MyBrand", True), ("mybrand", False), ("MyBrand2", False),
                           ("4479", True), ("447912345678", True), ("4478", False),
                           ("VF-XYZBK", True), ("VF-XYBK", False), ("A1", True), ("C1", False),
                           ("", False), ("x\nMyBrand", False)):
            self.assertEqual(allowed(source), ok, source)

    def test_exact_only_is_a_set(self):
        allowed = sender_matcher(("A", "B"))
        self.assertTrue(allowed("A"))
        self.assertFalse(allowed("AB"))

    @given(ids=st.lists(st.text(alphabet="ab*?", min_size=1, max_size=4), min_size=1,
                        max_size=4), source=st.text(alphabet="ab\n", max_size=6))
    def test_matches_fnmatch(self, ids, source):
        import fnmatch
        expected = any(fnmatch.fnmatchcase(source, p) for p in ids)
        self.assertEqual(sender_matcher(tuple(ids))(source), expected)


class TlvTests(SynchronousTestCase):
    REQUIRED = ("pe_id", "template_id")
    DEFAULTS = (("pe_id", "P"), ("tm_id", "T"))

    def test_defaults_fill_what_is_missing_in_a_new_dict(self):
        tlvs = {"template_id": "X"}
        out = complete(tlvs, self.REQUIRED, self.DEFAULTS)
        self.assertEqual(out, {"template_id": "X", "pe_id": "P", "tm_id": "T"})
        self.assertEqual(tlvs, {"template_id": "X"})

    def test_own_values_win(self):
        tlvs = {"template_id": "X", "pe_id": "mine", "tm_id": "t"}
        self.assertIs(complete(tlvs, self.REQUIRED, self.DEFAULTS), tlvs)

    def test_still_missing(self):
        self.assertIsNone(complete({}, self.REQUIRED, self.DEFAULTS))
        self.assertIsNone(complete({"template_id": "\x00", "pe_id": "P"}, self.REQUIRED, ()))
        self.assertIsNone(complete({"template_id": b"", "pe_id": "P"}, self.REQUIRED, ()))
        self.assertIsNotNone(complete({0x1500: b"\x01"}, (0x1500,), ()))


class PartsTests(SynchronousTestCase):

    def test_parts_charged_for_an_smpp_message(self):
        for body, esm_class, coding, parts in ((b"x" * 160, 0, 0, 1), (b"x" * 161, 0, 0, 2),
                                               (b"x" * 400, 0, 0, 3), (b"x" * 300, 0x40, 0, 1),
                                               (b"\x00x" * 71, 0, 8, 2), (b"x" * 140, 0, 4, 1),
                                               (b"x" * 141, 0, 4, 2)):
            s = Submission("u", "s", "d", body, coding, esm_class)
            self.assertEqual(message_parts(s), parts, (len(body), esm_class, coding))


class AccountTests(SynchronousTestCase):
    """policy/accounts.py: expiry first, then the door, then the operation."""

    def user(self, **policies):
        return User(name="u", password="x", groups=frozenset(), max_binds=1, throughput=0,
                    window=10, message_id="hex", **policies)

    def test_refusals(self):
        everything = self.user()
        self.assertIsNone(a.refusal(everything, a.SMPP, 1e12, a.REPLACE))
        ends = self.user(expires=100.0, doors=frozenset([a.REST]))
        self.assertIsNone(a.refusal(self.user(expires=100.0), a.REST, 99.9, a.SUBMIT))
        self.assertEqual(a.refusal(ends, a.SMPP, 100.0), a.EXPIRED)
        self.assertEqual(a.refusal(ends, a.SMPP, 99.0), a.DOOR)
        only_query = self.user(operations=frozenset([a.QUERY]))
        self.assertEqual(a.refusal(only_query, a.REST, 0, a.SUBMIT), a.OPERATION)
        self.assertIsNone(a.refusal(only_query, a.REST, 0, a.QUERY))
        self.assertIsNone(a.refusal(only_query, a.SMPP, 0))   # a bind makes no operation

    def test_system_type(self):
        self.assertTrue(system_type_ok(self.user(), "anything"))
        self.assertTrue(system_type_ok(self.user(system_type="smpp"), "SMPP"))
        self.assertFalse(system_type_ok(self.user(system_type="smpp"), ""))


class RelayTests(SynchronousTestCase):
    """core/receipts.relays: what an upstream's receipt is relayed for."""

    @given(rd=st.integers(0, 255), state=st.integers(1, 9),
           esm_class=st.sampled_from([0x04, 0x20, 0x24]))
    def test_against_the_spec(self, rd, state, esm_class):
        intermediate = bool(esm_class & 0x20) or state == 1
        if intermediate:
            expected = bool(rd & 0x10)
        else:
            expected = rd & 3 == 1 or (rd & 3 == 2 and state != 2)
        self.assertEqual(relays(rd, state, esm_class), expected)
