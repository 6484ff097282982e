"""Content rules applied to a user's message (policy/content.py parses them).

The text is decoded here, once per message and only for a user some rule
applies to (nothing on the MT path decodes an SMPP body otherwise; the HTTP
face's text is encoded by the door and decoded here again only for such a
user). A part the user split itself (UDHI) is judged on its own, without its
UDH: a word split across two parts is not seen. Binary codings carry no text
and pass.

Counted per rule; logged at most once per rule per LOG_EVERY seconds, with
how many messages the rule refused since its last line, never per message.
"""

from twisted.logger import Logger

from ..smpp.errors import DecodeError
from ..smpp.text import alphabet_of, decode_text

LOG_EVERY = 60.0   # seconds


class ContentFilter:
    log = Logger()

    def __init__(self, rules, clock):
        self.rules = rules              # policy.content.Rules: {user: regex}
        self.clock = clock
        self.refused = {}               # rule name -> messages refused, ever
        self._unlogged = {}             # rule name -> refused since its last log line
        self._next_log = {}             # rule name -> when it may log again
        names = rules.rule_names
        self.checks = {user: self._check_for(regex, names) for user, regex in rules.items()
                       if user}

    def _check_for(self, regex, names):
        search = regex.search

        def check(s):
            """True when the message s is to be refused for its content."""
            body = s.body
            try:
                if alphabet_of(s.data_coding) == "binary":
                    return False
                if s.esm_class & 0x40 and body:
                    body = body[1 + body[0]:]
                found = search(decode_text(body, s.data_coding, "replace"))
            except (DecodeError, ValueError, KeyError):
                return False
            if found is None:
                return False
            self._count(names[found.lastgroup])
            return True
        return check

    def _count(self, rule):
        self.refused[rule] = self.refused.get(rule, 0) + 1
        unlogged = self._unlogged.get(rule, 0) + 1
        now = self.clock.seconds()
        if now < self._next_log.get(rule, 0.0):
            self._unlogged[rule] = unlogged
            return
        self._unlogged[rule] = 0
        self._next_log[rule] = now + LOG_EVERY
        self.log.info("content rule {rule} refused {count} message(s)", rule=rule,
                      count=unlogged)
