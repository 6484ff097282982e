"""restparse: seed 004's bodies -> HttpMessages; every other body a RequestError."""

import json
from datetime import datetime, timezone

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.http.door import AUTO, GSM7, UCS2, HttpMessage
from smpprouter.http.restparse import BadNumber, RequestError, normalise_number, parse, \
    parse_expiry
from smpprouter.http.linktable import Link
from smpprouter.http.linktext import TOKEN_LENGTH
from smpprouter.http.templates import Template

from .seed004 import EXAMPLES

TEMPLATES = {"1": Template("Your code is $(code)."), "welcome": Template("Hi $(name)", "INFO"),
             "gift": Template("A gift: {{link_5}}")}
LINKS = {"5": Link("https://shop.example.com/gift", 30), "sale": Link("https://e.com/s", 7)}
LINK_LENGTH = len("https://s.example.com/") + TOKEN_LENGTH


def body(value):
    return json.dumps(value).encode()


def simple(**fields):
    message = {"channels": {"sms": {"text": "hello"}},
               "destination": [{"msisdn": ["15551234567"]}]}
    message.update(fields)
    return message


class SeedExampleTests(SynchronousTestCase):
    def test_every_seed_example_parses(self):
        for name, example in EXAMPLES.items():
            parsed = parse(body(example), TEMPLATES, links=LINKS, link_length=LINK_LENGTH)
            self.assertTrue(parsed.messages, name)
            self.assertIs(parsed.items, parsed.messages, name)

    def test_the_optional_parameters_example(self):
        [m] = parse(body(EXAMPLES["optional parameters"]), links=LINKS).messages
        self.assertEqual(m.meta, {"correlationid": "sgh3tvkpert",   # the destination's wins
                                  "notifyurl": "https://mywebsite.com/record/transactions",
                                  "notifydata": "kopwest4kfr"})
        self.assertEqual(m.priority, 1)   # "2": medium, ahead of the normal queue
        self.assertEqual(m.validity, datetime(2015, 4, 12, 18, 51, 19,
                                              tzinfo=timezone.utc).timestamp())
        self.assertEqual(m.sender, "DEMOBK")

    def test_the_batch_example_keeps_its_order(self):
        messages = parse(body(EXAMPLES["batch"])).messages
        self.assertEqual([m.text for m in messages],
                         ["Hi %s, Greetings from MNOP bank. " % n for n in ("John", "Mark", "steve")])
        self.assertEqual([m.sender for m in messages], ["", "", ""])

    def test_the_template_example_sends_the_template(self):
        [m] = parse(body(EXAMPLES["template"]), TEMPLATES).messages
        self.assertEqual(m.text, "Your code is $(code).")   # no value: as written
        self.assertEqual(m.meta, {})                        # its "" fields are absent

    def test_the_smartlink_example_is_type_1_gsm(self):
        parsed = parse(body(EXAMPLES["smartlink"]), links=LINKS, link_length=LINK_LENGTH)
        [m] = parsed.messages
        self.assertEqual(m.coding, GSM7)
        self.assertTrue(parsed.links)
        self.assertEqual(m.links, (("5", "https://shop.example.com/gift", 30),))
        self.assertTrue(m.text.endswith("{{link_5}}"))   # each destination's link comes later


class SmartlinkTests(SynchronousTestCase):
    def parse(self, text="Go {{link_5}}", smartlinks=None, **kwargs):
        sms = {"channels": {"sms": {"text": text}}, "destination": [{"msisdn": ["15551234567",
                                                                                "15551234568"]}]}
        if smartlinks is not None:
            sms["channels"]["smartlinks"] = smartlinks
        sms.update(kwargs)
        return parse(body(sms), TEMPLATES, links=LINKS, link_length=LINK_LENGTH)

    def error(self, *args, **kwargs):
        with self.assertRaises(RequestError) as caught:
            self.parse(*args, **kwargs)
        return caught.exception

    def test_validity_is_the_requests_else_the_links(self):
        parsed = self.parse("{{link_5}} and {{link_sale}} and {{link_5}}",
                            [{"linkid": "sale"}, {"linkid": 5, "validity": "2"}])
        for m in parsed.messages:
            self.assertEqual(m.links, (("5", "https://shop.example.com/gift", 2),
                                       ("sale", "https://e.com/s", 7)))

    def test_a_template_may_hold_a_link(self):
        [m, _] = parse(body({"message": {"template": "gift"},
                             "channels": {"smartlinks": [{"linkid": 5}]},
                             "destination": [{"msisdn": ["15551234567", "15551234568"]}]}),
                       TEMPLATES, links=LINKS).messages
        self.assertEqual(m.links, (("5", "https://shop.example.com/gift", 30),))

    def test_no_placeholder_no_links(self):
        parsed = self.parse("plain", [{"linkid": 5}])
        self.assertFalse(parsed.links)
        self.assertEqual([m.links for m in parsed.messages], [(), ()])

    def test_each_wrong_smartlink_names_its_field(self):
        cases = [
            (("Go {{link_5}}",), "channels.smartlinks", "no entry with linkid 5"),
            (("Go {{link_5}}", [{"linkid": "sale"}]), "channels.smartlinks", "{{link_5}}"),
            (("x", [{"linkid": 7}]), "channels.smartlinks[0].linkid", "no smart link 7"),
            (("x", [{"linkid": 5}, {"linkid": "5"}]), "channels.smartlinks[1].linkid",
             "twice"),
            (("x", [{"linkid": 5, "validity": 0}]), "channels.smartlinks[0].validity",
             "1-365"),
            (("x", [{"linkid": 5, "validity": 1.5}]), "channels.smartlinks[0].validity",
             "days"),
            (("x", [{"linkid": -1}]), "channels.smartlinks[0].linkid", "link id"),
            (("x", [{"linkid": "a b"}]), "channels.smartlinks[0].linkid", "link id"),
            (("x", ["5"]), "channels.smartlinks[0]", "object"),
            (("x", {"linkid": 5}), "channels.smartlinks", "array"),
        ]
        for args, field, fragment in cases:
            e = self.error(*args)
            self.assertEqual(e.field, field, args)
            self.assertIn(fragment, e.message, args)

    def test_a_router_without_links_refuses_them(self):
        with self.assertRaises(RequestError) as caught:
            parse(body({"channels": {"smartlinks": [{"linkid": 5}], "sms": {"text": "x"}},
                        "destination": [{"msisdn": ["15551234567"]}]}))
        self.assertEqual(caught.exception.field, "channels.smartlinks[0].linkid")

    def test_the_length_is_checked_with_the_links_in(self):
        # 255 parts of 153 GSM characters, less room than the link needs
        text = "a" * (255 * 153 - LINK_LENGTH + 9) + "{{link_5}}"
        self.assertEqual(self.error(text, [{"linkid": 5}]).field, "channels.sms.text")
        self.parse("a" * (255 * 153 - LINK_LENGTH) + "{{link_5}}", [{"linkid": 5}])


class FieldTests(SynchronousTestCase):
    def error(self, value, **kwargs):
        with self.assertRaises(RequestError) as caught:
            parse(value if type(value) is bytes else body(value), **kwargs)
        return caught.exception

    def test_numbers_are_normalised_and_a_bad_one_is_its_own_item(self):
        parsed = parse(body(simple(destination=[
            {"msisdn": ["+15551230001", "0015551230002", 15551230003, "1555-123"],
             "correlationid": "c1"}])))
        self.assertEqual([getattr(i, "destination", None) for i in parsed.items],
                         ["15551230001", "15551230002", "15551230003", None])
        self.assertEqual(parsed.items[3], BadNumber("1555-123", "c1"))
        self.assertEqual(len(parsed.messages), 3)

    def test_normalise_number(self):
        for raw, number in (("+447700900123", "447700900123"), (" 0033612345678 ", "33612345678"),
                            ("1234", "1234"), ("123", None), ("1" * 16, None), ("+", None),
                            ("١٢٣٤٥", None), ("12a45", None), (0, None)):
            self.assertEqual(normalise_number(raw), number, raw)

    def test_placeholders_from_the_message_and_each_destination(self):
        parsed = parse(body(simple(
            channels={"sms": {"text": "$(greeting) $(name), $(name)! $(unknown)"}},
            message={"parameters": {"greeting": "Hi", "name": "you"}},
            destination=[{"msisdn": ["15551230001"], "parameters": {"name": "Ann"}},
                         {"msisdn": ["15551230002"]},
                         {"msisdn": ["15551230003"], "parameters": {"name": 7}}])))
        self.assertEqual([m.text for m in parsed.messages],
                         ["Hi Ann, Ann! $(unknown)", "Hi you, you! $(unknown)",
                          "Hi 7, 7! $(unknown)"])

    def test_a_template_gives_its_sender_unless_the_request_has_one(self):
        [m] = parse(body(simple(channels={}, message={"template": "welcome"})), TEMPLATES).messages
        self.assertEqual((m.text, m.sender), ("Hi $(name)", "INFO"))
        [m] = parse(body(simple(channels={"sms": {"senderid": "+4477"}},
                                message={"template": "welcome"})), TEMPLATES).messages
        self.assertEqual(m.sender, "4477")

    def test_types_and_priorities(self):
        for kind, coding in ((None, AUTO), ("", AUTO), (1, GSM7), ("1", GSM7), (4, UCS2),
                             ("4", UCS2)):
            [m] = parse(body(simple(channels={"sms": {"text": "x", "type": kind}}))).messages
            self.assertEqual(m.coding, coding, kind)
        for level, priority in ((None, 0), (1, 0), ("2", 1), (3, 2)):
            [m] = parse(body(simple(priority=level))).messages
            self.assertEqual(m.priority, priority, level)

    def test_expiry_forms(self):
        utc = datetime(2030, 4, 12, 18, 51, 19, tzinfo=timezone.utc).timestamp()
        self.assertEqual(parse_expiry("2030-04-12T18:51:19"), utc)
        self.assertEqual(parse_expiry("2030-04-12T18:51:19Z"), utc)
        self.assertEqual(parse_expiry("2030-04-13T00:21:19+05:30"), utc)
        self.assertEqual(parse_expiry("2030-04-13T00:21:19.000+5:30"), utc)   # the vendor's
        self.assertEqual(parse_expiry("2030-04-12T13:51:19-0500"), utc)

    def test_request_errors_name_their_field(self):
        cases = [
            (b"{", ""), (b"\xff", ""), (b"[]", ""), (b"3", ""), (b"[3]", "[0]"),
            (simple(deliverychannel="voice"), "deliverychannel"),
            (simple(channels={"sms": {"text": 5}}), "channels.sms.text"),
            (simple(channels={"sms": {}}), "channels.sms.text"),
            (simple(channels={"sms": {"text": "x", "type": 2}}), "channels.sms.type"),
            (simple(channels={"sms": {"text": "x", "type": "9"}}), "channels.sms.type"),
            (simple(channels={"sms": {"text": "x", "senderid": "TOOLONGSENDER"}}),
             "channels.sms.senderid"),
            (simple(channels={"sms": {"text": "x", "senderid": "1" * 16}}),
             "channels.sms.senderid"),
            (simple(channels={"sms": {"text": "x" * 40000}}), "channels.sms.text"),
            (simple(channels={"sms": {"text": "\u0628", "type": 1}}), "channels.sms.text"),
            (simple(channels=[]), "channels"),
            (simple(destination=[]), "destination"),
            (simple(destination=[{"msisdn": []}]), "destination[0].msisdn"),
            (simple(destination=[{"msisdn": "15551234567"}]), "destination[0].msisdn"),
            (simple(destination=[{"msisdn": ["1555", {"a": 1}]}]), "destination[0].msisdn[1]"),
            (simple(destination=[{"msisdn": [True]}]), "destination[0].msisdn[0]"),
            (simple(destination=[{"msisdn": ["15551234567"], "parameters": {"a": []}}]),
             "destination[0].parameters.a"),
            (simple(destination=["15551234567"]), "destination[0]"),
            (simple(notifyurl="ftp://example.com/x"), "notifyurl"),
            (simple(notifyurl="http://127.0.0.1/hook"), "notifyurl"),
            (simple(expiry="tomorrow"), "expiry"),
            (simple(expiry=20300412), "expiry"),
            (simple(priority=0), "priority"),
            (simple(priority="high"), "priority"),
            (simple(priority=True), "priority"),
            (simple(correlationid="c" * 129), "correlationid"),
            (simple(callbackData="d" * 1025), "callbackData"),
            (simple(message={"template": "nope"}), "message.template"),
            (simple(message={"template": "1"}), "message.template"),   # and a text: both
            (simple(message={"template": ["1"]}), "message.template"),
            ([simple(), simple(priority=9)], "[1].priority"),
        ]
        for value, field in cases:
            self.assertEqual(self.error(value, templates=TEMPLATES).field, field, value)

    def test_a_template_not_allotted_to_the_user_is_refused_naming_the_field(self):
        # seed 002's 453; an unknown name stays "no template named" (452)
        message = {"template": "welcome", "parameters": {"name": "Ann"}}
        value = simple(channels={"sms": {}}, message=message)
        e = self.error(value, templates=TEMPLATES, allotted=frozenset({"1"}))
        self.assertEqual((e.field, "not allotted" in e.message), ("message.template", True))
        e = self.error(simple(channels={"sms": {}}, message={"template": "nope"}),
                       templates=TEMPLATES, allotted=frozenset({"1"}))
        self.assertIn("no template named", e.message)
        [m] = parse(body(value), TEMPLATES, allotted=frozenset({"welcome"})).messages
        self.assertEqual(m.text, "Hi Ann")
        [m] = parse(body(value), TEMPLATES).messages   # no allotment: all templates
        self.assertEqual(m.text, "Hi Ann")

    def test_a_loopback_notifyurl_is_allowed_where_the_operator_opens_it(self):
        import ipaddress
        allow = (ipaddress.ip_network("127.0.0.0/8"),)
        [m] = parse(body(simple(notifyurl="http://127.0.0.1:8080/hook")),
                    webhook_allow=allow).messages
        self.assertEqual(m.meta["notifyurl"], "http://127.0.0.1:8080/hook")

    def test_destinations_are_counted_across_the_whole_request(self):
        numbers = ["1555000%04d" % i for i in range(500)]
        ok = [simple(destination=[{"msisdn": numbers}]), simple(destination=[{"msisdn": numbers}])]
        self.assertEqual(len(parse(body(ok)).items), 1000)
        e = self.error(ok + [simple()])
        self.assertEqual(e.field, "[2].destination[0].msisdn")
        self.assertIn("at most 1000", e.message)
        self.assertEqual(self.error(simple(destination=[{"msisdn": ["15551234567"] * 11}]),
                                    max_destinations=10).field, "destination[0].msisdn")

    def test_unknown_and_ignored_fields(self):
        [m] = parse(body(simple(conversationid="c", route="IMMD", smartlinks=[], voice={},
                                channels={"sms": {"text": "x", "media-path": "y"},
                                          "smartlinks": [{"linkid": 5}]})),
                    links=LINKS).messages
        self.assertEqual(m.text, "x")

    def test_deep_nesting_is_a_request_error(self):
        self.assertEqual(self.error(b"[" * 100000 + b"]" * 100000).field, "")


# -- properties -----------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=12), children, max_size=5), max_leaves=30)
field_names = st.sampled_from(["deliverychannel", "channels", "sms", "text", "senderid", "type",
                               "destination", "msisdn", "correlationid", "notifyurl",
                               "notifydata", "callbackData", "expiry", "priority", "message",
                               "template", "parameters", "smartlinks", "linkid",
                               "validity"])
# Bodies shaped like requests, with any values in any of the fields.
shaped = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20)
    | st.sampled_from(["sms", "SMS", "15551234567", "+15551234567", "1", "4",
                       "2030-01-01T00:00:00", "http://example.com/", "$(name)",
                       "{{link_5}}", "5", "sale"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(field_names, children, max_size=6), max_leaves=40)


class PropertyTests(SynchronousTestCase):
    def only_request_errors(self, raw):
        try:
            parsed = parse(raw, TEMPLATES, max_destinations=50, links=LINKS,
                           link_length=LINK_LENGTH)
        except RequestError as e:
            self.assertIsInstance(e.field, str)
            self.assertIsInstance(e.message, str)
            return
        for item in parsed.items:
            self.assertIn(type(item), (HttpMessage, BadNumber))
        self.assertLessEqual(len(parsed.items), 50)

    @given(st.binary(max_size=200))
    def test_any_bytes(self, raw):
        self.only_request_errors(raw)

    @given(json_values)
    def test_any_json(self, value):
        self.only_request_errors(json.dumps(value).encode())

    @settings(max_examples=500)
    @given(shaped)
    def test_any_request_shaped_json(self, value):
        self.only_request_errors(json.dumps(value).encode())

    @given(st.lists(st.fixed_dictionaries({
        "text": st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300)
        .filter(lambda t: "$(" not in t and "{{link_" not in t),
        "sender": st.sampled_from(["", "DEMOBK", "12345", "INFO"]),
        "numbers": st.lists(st.from_regex(r"\+?[1-9][0-9]{5,13}", fullmatch=True),
                            min_size=1, max_size=5),
        "correlationid": st.text(max_size=20),
        "priority": st.sampled_from([None, 1, 2, 3, "1", "2", "3"]),
        "expiry": st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    }), min_size=1, max_size=4))
    def test_valid_bodies_round_trip(self, specs):
        request = [{"deliverychannel": "sms",
                    "channels": {"sms": {"text": s["text"], "senderid": s["sender"]}},
                    "correlationid": s["correlationid"], "priority": s["priority"],
                    "expiry": s["expiry"].isoformat(),
                    "destination": [{"msisdn": s["numbers"]}]} for s in specs]
        parsed = parse(body(request))
        expected = [(n.lstrip("+"), s["text"], s["sender"], s["correlationid"],
                     {None: 0, 1: 0, 2: 1, 3: 2}[int(s["priority"]) if s["priority"] else None],
                     s["expiry"].replace(tzinfo=timezone.utc).timestamp())
                    for s in specs for n in s["numbers"]]
        self.assertEqual([(m.destination, m.text, m.sender, m.meta.get("correlationid", ""),
                           m.priority, m.validity) for m in parsed.items], expected)
