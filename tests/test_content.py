"""Content rules (seed 002's 407): the file's errors, matching, and its cost."""

import os
import re
import time

from hypothesis import given, strategies as st
from twisted.internet import task
from twisted.trial import unittest

from smpprouter.core.content import ContentFilter
from smpprouter.core.messages import Submission
from smpprouter.policy.content import load_content, matched_rule, word_source
from smpprouter.smpp.text import encode_text
from smpprouter.tomlfile import ConfigError

from .files import write_temp


USERS = {"esme1": None, "esme2": None}


class FileTests(unittest.TestCase):
    def error(self, text):
        path = write_temp(self, text)
        e = self.assertRaises(ConfigError, load_content, path, USERS)
        return e.line, e.key, e.message, path, str(e)

    def test_a_good_file_gives_one_regex_per_user(self):
        rules = load_content(write_temp(self, '[rules.spam]\nwords = ["free money"]\n'
                                         '[rules.loans]\npatterns = ["loan\\\\s*\\\\d+"]\n'
                                         'users = ["esme2"]\n'), USERS)
        self.assertEqual(set(rules), {"esme1", "esme2"})
        self.assertTrue(rules["esme1"].search("get FREE   money"))
        self.assertFalse(rules["esme1"].search("loan 5"))
        self.assertTrue(rules["esme2"].search("Loan 5"))

    def test_a_bad_regex_names_file_line_and_key(self):
        line, key, message, path, text = self.error(
            '# rules\n[rules.spam]\npatterns = ["(unclosed"]\n')
        self.assertEqual((line, key), (3, "rules.spam.patterns"))
        self.assertIn("no regular expression", message)
        self.assertTrue(text.startswith(path + ":3: "))

    def test_named_groups_and_back_references_are_refused(self):
        for pattern in ("(?P<x>a)", "(a)\\\\1"):
            line, key, message, _, _ = self.error('[rules.spam]\npatterns = ["%s"]\n' % pattern)
            self.assertEqual((line, key), (2, "rules.spam.patterns"))
            self.assertIn("no named groups", message)
        rules = load_content(write_temp(self, '[rules.a]\npatterns = ["(x)y"]\n'
                                         '[rules.b]\npatterns = ["(z)"]\n'), USERS)
        self.assertEqual(matched_rule(rules, rules["esme1"], "--z--"), "b")

    def test_an_unknown_key_is_named_with_a_suggestion(self):
        line, key, message, _, _ = self.error('[rules.spam]\nword = ["x"]\n')
        self.assertEqual((line, key), (2, "rules.spam.word"))
        self.assertIn("did you mean 'words'", message)

    def test_an_unknown_user(self):
        line, key, message, _, _ = self.error('[rules.spam]\nwords = ["x"]\nusers = ["bob"]\n')
        self.assertEqual((line, key), (3, "rules.spam.users"))
        self.assertIn("bob", message)

    def test_a_rule_without_words_or_patterns(self):
        line, key, _, _, _ = self.error('[rules.spam]\nusers = ["esme1"]\n')
        self.assertEqual((line, key), (1, "rules.spam"))

    def test_an_empty_list_and_a_non_string(self):
        self.assertEqual(self.error('[rules.spam]\nwords = []\n')[:2], (2, "rules.spam.words"))
        self.assertEqual(self.error('[rules.spam]\nwords = [1]\n')[:2], (2, "rules.spam.words"))

    def test_another_table(self):
        line, key, _, _, _ = self.error('[rule.spam]\nwords = ["x"]\n')
        self.assertEqual(key, "rule")

    def test_the_shipped_file_and_its_example_load(self):
        etc = os.path.join(os.path.dirname(__file__), "..", "etc", "content.toml")
        self.assertEqual(dict(load_content(etc, USERS)), {})
        with open(etc) as f:
            text = re.sub(r"(?m)^# ((?:\[rules|words|patterns|users)\b.*)$", r"\1", f.read())
        rules = load_content(write_temp(self, text), USERS)
        self.assertEqual(set(rules), {"esme1"})
        self.assertTrue(rules["esme1"].search("WIN 100 $ now"))

    def test_no_rules_no_users(self):
        self.assertEqual(dict(load_content(write_temp(self, "# none\n"), USERS)), {})


class MatchTests(unittest.TestCase):
    def filter(self, text='[rules.spam]\nwords = ["free money"]\n'):
        self.clock = task.Clock()
        return ContentFilter(load_content(write_temp(self, text), USERS), self.clock)

    def test_a_gsm_message_matching_is_refused_and_counted(self):
        f = self.filter()
        check = f.checks["esme1"]
        self.assertTrue(check(Submission("esme1", "A", "1", encode_text("Free Money!", 0))))
        self.assertFalse(check(Submission("esme1", "A", "1", encode_text("freemoney", 0))))
        self.assertEqual(f.refused, {"spam": 1})

    def test_ucs2_and_a_part_with_its_udh(self):
        check = self.filter().checks["esme1"]
        self.assertTrue(check(Submission("esme1", "A", "1", encode_text("free money €", 8), 8)))
        udh = bytes((5, 0, 3, 1, 2, 1))
        self.assertTrue(check(Submission("esme1", "A", "1", udh + encode_text("free money", 0),
                                         0, esm_class=0x40)))

    def test_binary_passes(self):
        check = self.filter().checks["esme1"]
        self.assertFalse(check(Submission("esme1", "A", "1", b"free money", 4)))

    def test_logged_once_per_rule_per_minute(self):
        f = self.filter()
        logged = []
        f.log = type(f.log)(observer=logged.append)
        s = Submission("esme1", "A", "1", b"free money")
        for _ in range(5):
            f.checks["esme1"](s)
        self.assertEqual([e["count"] for e in logged], [1])
        self.clock.advance(60)
        f.checks["esme1"](s)
        self.assertEqual([e["count"] for e in logged], [1, 5])
        self.assertEqual(f.refused, {"spam": 6})

    @given(st.text(), st.text(), st.lists(st.text("abcdefXYZ", min_size=1), min_size=1,
                                           max_size=3))
    def test_words_match_standing_alone_in_any_case_and_never_inside_a_word(
            self, before, after, words):
        regex = re.compile(r"(?<!\w)" + word_source(" ".join(words)), re.IGNORECASE)
        phrase = "  ".join(words)
        self.assertTrue(regex.search(before + " " + phrase.swapcase() + "\n" + after))
        self.assertIsNone(regex.search("q" + "".join(words) + "q"))

    @given(st.binary(max_size=200), st.sampled_from((0, 1, 3, 4, 8, 0x0F, 0xF0, 0xF4)),
           st.sampled_from((0, 0x40)))
    def test_any_body_gets_an_answer(self, body, coding, esm_class):
        check = self.checks
        self.assertIn(check(Submission("esme1", "A", "1", body, coding, esm_class=esm_class)),
                      (True, False))

    @property
    def checks(self):
        if not hasattr(self, "_check"):
            self._check = self.filter().checks["esme1"]
        return self._check

    def test_ten_rules_cost(self):
        text = "".join('[rules.r%d]\nwords = ["word%d", "other%d"]\npatterns = ["x%d\\\\d+y"]\n'
                       % (i, i, i, i) for i in range(10))
        check = self.filter(text).checks["esme1"]
        s = Submission("esme1", "A", "1", encode_text(
            "Your verification code is 123456. Do not share it with anyone.", 0))
        n = 20000
        start = time.perf_counter()
        for _ in range(n):
            check(s)
        per = (time.perf_counter() - start) / n * 1e6
        print("\n10 content rules: %.2f us per message" % per)
        self.assertLess(per, 200)
