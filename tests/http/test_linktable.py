"""linktable.py: the smart links file, its errors naming file:line:key."""

import os

from twisted.trial.unittest import SynchronousTestCase

from smpprouter.http.linktable import Link, load_links
from smpprouter.tomlfile import ConfigError

from ..files import write_temp

SHIPPED = os.path.join(os.path.dirname(__file__), "..", "..", "etc", "links.toml")


class LinkTableTests(SynchronousTestCase):
    def test_the_shipped_file(self):
        links = load_links(SHIPPED)
        self.assertEqual(links["5"], Link("https://shop.example.com/gift", 30))
        self.assertEqual(links["spring-sale"].validity, 30)   # the default

    def test_an_empty_file_has_no_links(self):
        self.assertEqual(load_links(write_temp(self, "")), {})

    def test_errors_name_the_file_the_line_and_the_key(self):
        cases = [
            ('[links.a]\nurl = "https://e.com/"\nvalid = 3\n', 3, "links.a.valid",
             "did you mean 'validity'?"),
            ('[links.a]\nvalidity = 3\n', 1, "links.a", "url is required"),
            ('[links.a]\nurl = "ftp://e.com/"\n', 2, "links.a.url", "http:// or https://"),
            ('[links.a]\nurl = "https://e.com/a b"\n', 2, "links.a.url", "without spaces"),
            ('[links.a]\nurl = "https://e.com/\u00e9"\n', 2, "links.a.url", "ASCII"),
            ('[links.a]\nurl = 5\n', 2, "links.a.url", "non-empty string"),
            ('[links.a]\nurl = "https://e.com/"\nvalidity = 0\n', 3, "links.a.validity",
             "1-365"),
            ('[links.a]\nurl = "https://e.com/"\nvalidity = 1.5\n', 3, "links.a.validity",
             "whole number"),
            ('[links."a b"]\nurl = "https://e.com/"\n', 1, "links.a b", "a link id"),
            ('\n[link.a]\nurl = "https://e.com/"\n', 2, "link", "[links.ID]"),
            ('links = 3\n', 1, "links", "must be a table"),
            ('[links]\na = "x"\n', 2, "links.a", "must be a table"),
        ]
        for text, line, key, message in cases:
            path = write_temp(self, text)
            with self.assertRaises(ConfigError) as caught:
                load_links(path)
            e = caught.exception
            self.assertEqual((e.path, e.line, e.key), (path, line, key), text)
            self.assertIn(message, e.message, text)
