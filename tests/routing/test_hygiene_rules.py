"""routes.toml keys of message hygiene: require_opt_in, hours, timezone, outside_hours."""

from twisted.trial.unittest import SynchronousTestCase

from smpprouter.routing.explain import explain
from smpprouter.routing.interface import MTRequest
from smpprouter.routing.table import load_routes
from smpprouter.tomlfile import ConfigError

from .helpers import write
from .test_coverage import user


class HygieneRuleTests(SynchronousTestCase):

    def assertError(self, body, key, *words):
        path = write(self, '[[mt]]\nname = "x"\nconnectors = ["a"]\n' + body)
        e = self.assertRaises(ConfigError, load_routes, path)
        self.assertEqual((e.path, e.line, e.key), (path, 4, key), str(e))
        for word in words:
            self.assertIn(word, e.message)

    def test_the_decision_carries_them(self):
        path = write(self, '[[mt]]\nname = "x"\nconnectors = ["a"]\nrequire_opt_in = true\n'
                           'hours = "09:00-21:00"\ntimezone = "Asia/Kolkata"\n'
                           'outside_hours = "refuse"\n')
        decision = load_routes(path).route_mt(MTRequest("u", frozenset(), "s",
                                                                      "91", ""))
        self.assertTrue(decision.require_opt_in)
        self.assertEqual((decision.hours.start, decision.hours.end, decision.outside_hours),
                         (540, 1260, "refuse"))

    def test_bad_values_name_their_key(self):
        self.assertError("require_opt_in = 1\n", "mt[0].require_opt_in", "true or false")
        self.assertError('hours = "9-21"\ntimezone = "UTC"\n', "mt[0].hours", "HH:MM-HH:MM")
        self.assertError('hours = "09:00-21:00"\n', "mt[0].hours", "timezone")
        self.assertError('timezone = "UTC"\n', "mt[0].timezone", "applies to a rule with hours")
        self.assertError('timezone = "Asia/Kolkatta"\nhours = "09:00-21:00"\n',
                         "mt[0].timezone", "no IANA time zone")
        self.assertError('outside_hours = "wiat"\nhours = "09:00-21:00"\ntimezone = "UTC"\n',
                         "mt[0].outside_hours", "did you mean 'wait'")


class ExplainHygieneTests(SynchronousTestCase):

    def test_explain_names_opt_in_and_hours(self):
        path = write(self, '[[mt]]\nname = "x"\nconnectors = ["a"]\nrequire_opt_in = true\n'
                           'hours = "09:00-21:00"\ntimezone = "Asia/Kolkata"\n')
        text = "\n".join(explain(user(), load_routes(path), "919800000000", "S").lines)
        self.assertIn("opt-in required", text)
        self.assertIn("promotional traffic only 09:00-21:00 Asia/Kolkata; outside: scheduled "
                      "to the next opening", text)
