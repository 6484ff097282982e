"""smpprouter.logs: JSON lines through twisted.logger, and message text only when asked."""

import io
import json

from twisted.logger import Logger, LogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from smpprouter import logs


def logged(form, emit):
    out = io.StringIO()
    publisher = LogPublisher(logs.observer(form, out))
    emit(Logger(namespace="smpprouter.test", observer=publisher))
    return out.getvalue()


class JsonLinesTests(SynchronousTestCase):

    def test_one_object_per_line_with_the_fields_and_the_text(self):
        out = logged("json", lambda log: (
            log.info("{connector}: receipt for {message_id} of {user}", connector="smsc",
                     message_id="1a2b", user="esme1", session="r@h#0/3"),
            log.warn("second")))
        lines = out.splitlines()
        self.assertEqual(len(lines), 2)
        self.assertNotIn("\x1e", out)   # lines, not RFC 7464 records
        first = json.loads(lines[0])
        self.assertEqual((first["connector"], first["message_id"], first["user"],
                          first["session"]), ("smsc", "1a2b", "esme1", "r@h#0/3"))
        self.assertEqual(first["log_text"], "smsc: receipt for 1a2b of esme1")
        self.assertEqual(first["log_level"]["name"], "info")
        self.assertEqual(first["log_namespace"], "smpprouter.test")
        self.assertEqual(json.loads(lines[1])["log_level"]["name"], "warn")

    def test_a_failure_carries_its_traceback(self):
        def emit(log):
            try:
                1 / 0
            except ZeroDivisionError:
                log.failure("{connector}: sending failed", Failure(), connector="smsc")
        event = json.loads(logged("json", emit))
        self.assertEqual(event["log_text"], "smsc: sending failed")
        self.assertIn("ZeroDivisionError", event["log_traceback"])

    def test_values_json_cannot_hold_do_not_lose_the_event(self):
        event = json.loads(logged("json", lambda log: log.error(
            "odd {thing}", thing=object(), raw=b"\xff")))
        self.assertTrue(event["log_text"].startswith("odd <object object"))

    def test_text_is_the_default_form(self):
        out = logged("text", lambda log: log.info("{user} bound", user="esme1"))
        self.assertIn("[smpprouter.test#info] esme1 bound", out)
        self.assertRaises(ValueError, json.loads, out)

    def test_twistd_json_names_an_importable_factory(self):
        from twisted.python.reflect import namedAny
        factory = namedAny(logs.twistd_json("-"))
        self.assertIsNotNone(factory())


class MessageTextTests(SynchronousTestCase):

    def test_nothing_unless_shown(self):
        self.assertEqual(logs.message_text(False, b"secret text"), {})

    def test_text_decoded_by_its_coding(self):
        self.assertEqual(logs.message_text(True, b"JOIN now"), {"text": "JOIN now"})
        self.assertEqual(logs.message_text(True, "h\u00e9".encode("utf-16-be"), 8),
                         {"text": "h\u00e9"})

    def test_binary_and_reserved_codings_as_hex(self):
        self.assertEqual(logs.message_text(True, b"\x01\x02", 4), {"text": "0102"})
        self.assertEqual(logs.message_text(True, b"\x01\x02", 0x0E), {"text": "0102"})
