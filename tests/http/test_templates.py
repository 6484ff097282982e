"""templates.py: the REST API's templates file, its errors naming file:line:key."""

import os

from twisted.trial.unittest import SynchronousTestCase

from smpprouter.http.templates import Template, load_templates
from smpprouter.tomlfile import ConfigError

from ..files import write_temp

SHIPPED = os.path.join(os.path.dirname(__file__), "..", "..", "etc", "templates.toml")


class TemplateTests(SynchronousTestCase):
    def error(self, text):
        path = write_temp(self, text)
        with self.assertRaises(ConfigError) as caught:
            load_templates(path)
        return path, caught.exception

    def test_the_shipped_file(self):
        templates = load_templates(SHIPPED)
        self.assertEqual(templates["1"].senderid, "")
        self.assertEqual(templates["welcome"], Template("Hi $(name), welcome to $(company).",
                                                        "INFO"))
        self.assertEqual(templates["otp-in"].tlvs, (("pe_id", "1201159100000000001"),
                                                     ("template_id", "1207161700000000002")))

    def test_an_empty_file_has_no_templates(self):
        self.assertEqual(load_templates(write_temp(self, "")), {})

    def test_errors_name_the_file_the_line_and_the_key(self):
        cases = [
            ('[templates.a]\ntext = "x"\nsender = "INFO"\n', 3, "templates.a.sender",
             "did you mean 'senderid'?"),
            ('[templates.a]\nsenderid = "INFO"\n', 1, "templates.a", "text is required"),
            ('[templates.a]\ntext = ""\n', 2, "templates.a.text", "non-empty string"),
            ('[templates.a]\ntext = 5\n', 2, "templates.a.text", "non-empty string"),
            ('[templates.a]\ntext = "x"\nsenderid = "MUCH TOO LONG"\n', 3,
             "templates.a.senderid", "at most 11"),
            ('\n[template.a]\ntext = "x"\n', 2, "template", "[templates.NAME]"),
            ('templates = 3\n', 1, "templates", "must be a table"),
            ('[templates]\na = "x"\n', 2, "templates.a", "must be a table"),
            ('[templates.a]\ntext = "x"\npe_id = ""\n', 3, "templates.a.pe_id", "non-empty"),
            ('[templates.a]\ntext = "x"\ntm_id = 7\n', 3, "templates.a.tm_id", "non-empty"),
        ]
        for text, line, key, message in cases:
            path, e = self.error(text)
            self.assertEqual((e.path, e.line, e.key), (path, line, key), text)
            self.assertIn(message, e.message, text)

    def test_a_file_that_is_not_toml(self):
        path, e = self.error('[templates.a\ntext = "x"\n')
        self.assertEqual(e.line, 1)
        self.assertIn("invalid TOML", str(e))
