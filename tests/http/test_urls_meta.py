"""Which webhook URLs the router calls, and the meta a message carries to its receipt."""

import ipaddress

from hypothesis import given, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.http.meta import decode_meta, encode_meta
from smpprouter.http.urls import address_allowed, url_problem

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)


class UrlTests(SynchronousTestCase):
    def test_public_urls_pass(self):
        for url in ("https://example.com/dlr", "http://93.184.216.34:8080/x?y=1",
                    "https://[2606:4700::1111]/hook"):
            self.assertIsNone(url_problem(url), url)

    def test_what_the_router_must_not_reach(self):
        for url in ("http://127.0.0.1/", "http://10.1.2.3/", "http://192.168.0.1/",
                    "http://172.16.5.4/", "http://169.254.169.254/latest/meta-data",
                    "http://[::1]/", "http://[fe80::1]/", "http://[::ffff:127.0.0.1]/",
                    "http://0.0.0.0/", "http://224.0.0.1/", "http://localhost:2780/",
                    "http://api.localhost/"):
            self.assertIn("(see [http] webhook_allow)", url_problem(url), url)

    def test_bad_urls(self):
        for url, why in (("ftp://example.com/", "http"), ("https:///x", "host"),
                         ("", "non-empty"), (None, "non-empty"), ("http://e.com:99999/", "valid"),
                         ("https://e.com/" + "x" * 3000, "at most"), ("example.com", "http"),
                         ("http://e.com:0/", "port 0")):
            self.assertIn(why, url_problem(url), url)

    def test_allowlist_opens_networks(self):
        self.assertIsNone(url_problem("http://127.0.0.1:9000/dlr", LOOPBACK))
        self.assertIsNotNone(url_problem("http://10.0.0.1/", LOOPBACK))
        self.assertTrue(address_allowed(ipaddress.ip_address("::ffff:127.0.0.1"), LOOPBACK))

    @given(st.text(max_size=200))
    def test_never_raises(self, text):
        problem = url_problem(text)
        self.assertTrue(problem is None or isinstance(problem, str))


class MetaTests(SynchronousTestCase):
    def test_round_trip_keeps_only_known_non_empty_keys(self):
        reference = encode_meta({"correlationid": "c", "notifyurl": "", "x": "y",
                                 "callbackData": "d"})
        self.assertEqual(decode_meta(reference), {"correlationid": "c", "callbackData": "d"})
        self.assertNotIn('"notifyurl"', reference)   # the inbox's cue is absent
        self.assertEqual(encode_meta({}), "")

    def test_other_references_read_as_nothing(self):
        for reference in ("", "abc", "{not json", "[1]", '{"correlationid": 5}'):
            self.assertEqual(decode_meta(reference), {}, reference)

    @given(st.dictionaries(st.sampled_from(["correlationid", "notifyurl", "notifydata",
                                            "callbackData"]), st.text(min_size=1)))
    def test_any_text_survives(self, meta):
        self.assertEqual(decode_meta(encode_meta(meta)), meta)
