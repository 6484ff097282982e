"""linktext.py: tokens and {{link_<id>}} placeholders, by property."""

import re
from collections import Counter

from hypothesis import given, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.http.linktext import ALPHABET, TOKEN_LENGTH, fill_links, is_token, link_ids, \
    new_token

ids = st.from_regex(r"[A-Za-z0-9_\-]{1,32}", fullmatch=True)
# text with placeholders (known or not), near-misses and anything else between them
pieces = st.one_of(st.text(max_size=8), ids.map(lambda i: "{{link_%s}}" % i),
                   st.sampled_from(["{{link_}}", "{{link_a", "{link_a}}", "{{LINK_a}}",
                                    "{{link_a b}}", "{{", "}}"]))
texts = st.lists(pieces, max_size=8).map("".join)


def naive_ids(text):
    """Every {{link_<id>}} by scanning each position (no regex of the module's)."""
    found = []
    start = 0
    while True:
        at = text.find("{{link_", start)
        if at == -1:
            return found
        end = text.find("}}", at)
        candidate = text[at + 7:end] if end != -1 else ""
        if 1 <= len(candidate) <= 32 and all(c.isascii() and (c.isalnum() or c in "_-")
                                             for c in candidate):
            if candidate not in found:
                found.append(candidate)
            start = end + 2
        else:
            start = at + 1


class TokenTests(SynchronousTestCase):
    @given(st.binary(min_size=64, max_size=64))
    def test_a_token_is_base62_of_its_length(self, seed):
        stream = iter(seed * 64)
        token = new_token(lambda n: bytes(next(stream) for _ in range(n)))
        self.assertEqual(len(token), TOKEN_LENGTH)
        self.assertTrue(set(token) <= set(ALPHABET))
        self.assertTrue(is_token(token))

    def test_bytes_248_and_above_are_dropped_so_each_character_is_equally_likely(self):
        made = Counter()
        for octet in range(248):
            token = new_token(lambda n, o=octet: bytes([o]) * n)
            self.assertEqual(len(set(token)), 1)
            made[token[0]] += 1
        # uniform octets give uniform characters: 4 octet values for each of the 62
        self.assertEqual(len(made), 62)
        self.assertEqual(set(made.values()), {4})
        for octet in range(248, 256):
            calls = iter([bytes([octet]) * 12] * 3 + [b"\x01" * 12])
            self.assertEqual(new_token(lambda n: next(calls)), "1" * TOKEN_LENGTH)

    def test_real_tokens_differ(self):
        tokens = {new_token() for _ in range(1000)}
        self.assertEqual(len(tokens), 1000)

    def test_what_is_not_a_token(self):
        for name in ("", "a" * (TOKEN_LENGTH - 1), "a" * (TOKEN_LENGTH + 1), "resources",
                     "metrics", "websmpp", "openapi.json", "abcdefghi-", "abcdefghi\u00e9"):
            self.assertFalse(is_token(name), name)


class PlaceholderTests(SynchronousTestCase):
    @given(texts)
    def test_ids_are_the_placeholders_each_once_in_order(self, text):
        self.assertEqual(link_ids(text), naive_ids(text))

    @given(texts, st.dictionaries(ids, st.text(max_size=10).map(lambda t: "U" + t), max_size=4))
    def test_fill_replaces_exactly_the_known_placeholders(self, text, urls):
        filled = fill_links(text, urls)
        expected = re.sub(r"\{\{link_([A-Za-z0-9_\-]{1,32})\}\}",
                          lambda m: urls.get(m.group(1), m.group(0)), text)
        self.assertEqual(filled, expected)
        # what is left is only the placeholders urls has no URL for
        self.assertEqual(set(link_ids(filled)) & set(urls) - set(link_ids(text)), set())
        for link_id in link_ids(text):
            if link_id not in urls:
                self.assertIn("{{link_%s}}" % link_id, filled)

    @given(st.text(max_size=50).filter(lambda t: "{{link_" not in t))
    def test_a_text_without_placeholders_is_left_alone(self, text):
        self.assertEqual(link_ids(text), [])
        self.assertEqual(fill_links(text, {"a": "x"}), text)

    def test_examples(self):
        text = "Gift {{link_5}}, sale {{link_spring-sale}}, again {{link_5}}, not {{link_}}"
        self.assertEqual(link_ids(text), ["5", "spring-sale"])
        self.assertEqual(fill_links(text, {"5": "https://s.e/AAAAAAAAAA"}),
                         "Gift https://s.e/AAAAAAAAAA, sale {{link_spring-sale}}, again "
                         "https://s.e/AAAAAAAAAA, not {{link_}}")
