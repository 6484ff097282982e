"""Seed 003's error table and status names, against the seed's own text."""

from twisted.trial.unittest import SynchronousTestCase

from smpprouter.http import door
from smpprouter.http.websmscodes import (
    LINES, STATUS_NAMES, TEXTS, code_of, line_of, status_name,
)
from smpprouter.smpp.status import Status

# The seed's lines as it prints them (copied from seed 003, which is not in the repository).
SEED_LINES = """\
ERROR - HTTP01 --> Invalid HTTP URL Format
ERROR - HTTP02 --> Invalid query string
ERROR - HTTP03 --> Message Submission Failed
ERROR - HTTP04 --> Invalid Password
ERROR - HTTP05 --> Invalid System ID
ERROR - HTTP06 --> Invalid Sender ID
ERROR - HTTP07 --> Invalid Type
ERROR - HTTP08 --> Invalid Message ID
ERROR - HTTP09 --> Invalid Destination Address
ERROR - HTTP10 --> Invalid number of messages
ERROR - HTTP11 --> Requested service is unavailable
ERROR - HTTP12 --> Submit Failed
ERROR - HTTP13 --> Query request failed
ERROR - HTTP14 --> Bind failed
ERROR - HTTP15 --> Not Authorized for the request
ERROR - HTTP16 --> Invalid Request
ERROR - HTTP17 --> Invalid Message Length
ERROR - HTTP18 --> INSUFFICIENT CREDITS/BALANCE
ERROR - HTTP19 --> Invalid DATA CODING SCHEME
ERROR - HTTP20 --> Invalid ESM
ERROR - HTTP21 --> Invalid HEADER
ERROR - HTTP22 --> Invalid Schedule Time
ERROR - HTTP23 --> Routing Error
ERROR - HTTP24 --> Exceeded number of Destination
ERROR - HTTP25 --> No Record Found
ERROR - HTTP26 --> Account Expired"""


class ErrorTableTests(SynchronousTestCase):
    def test_every_line_is_the_seeds(self):
        self.assertEqual(b"\n".join(LINES[c] for c in sorted(LINES)).decode(), SEED_LINES)
        self.assertEqual(sorted(TEXTS), ["HTTP%02d" % n for n in range(1, 27)])

    def test_statuses_read_as_what_they_mean(self):
        for status, code in (
                (Status.ESME_RINVDSTADR, "HTTP23"),      # the routing table's refusal
                (Status.ESME_RTHROTTLED, "HTTP11"), (Status.ESME_RMSGQFUL, "HTTP11"),
                (Status.ESME_RINVMSGLEN, "HTTP17"), (Status.ESME_RINVDCS, "HTTP19"),
                (Status.ESME_RINVSCHED, "HTTP22"), (Status.ESME_RINVEXPIRY, "HTTP22"),
                (Status.ESME_RSYSERR, "HTTP03"), (Status.ESME_RINVBALANCE, "HTTP18"),
                (Status.ESME_RPROHIBITED, "HTTP15"), (Status.ESME_RINVSRCADR, "HTTP06"),
                (Status.ESME_RINVNUMMSGS, "HTTP10"), (Status.ESME_RINVESMCLASS, "HTTP20"),
                (Status.ESME_RINVTLVVAL, "HTTP21"), (Status.ESME_RSUBMITFAIL, "HTTP12")):
            self.assertEqual(code_of(status), code, status.name)
            self.assertEqual(line_of(int(status)), LINES[code], status.name)

    def test_a_status_the_table_lacks_is_submit_failed(self):
        self.assertEqual(line_of(Status.ESME_RX_P_APPN), LINES["HTTP12"])
        self.assertEqual(line_of(0x4242), LINES["HTTP12"])

    def test_every_status_the_door_makes_has_a_line(self):
        # what door.submission refuses with, and what the MT path answers for HTTP
        # (always store and forward): admission, routing, the store
        for status in (Status.ESME_RINVDCS, Status.ESME_RINVMSGLEN, Status.ESME_RTHROTTLED,
                       Status.ESME_RINVDSTADR, Status.ESME_RMSGQFUL, Status.ESME_RINVEXPIRY,
                       Status.ESME_RINVSCHED, Status.ESME_RSYSERR):
            self.assertNotEqual(code_of(status), "HTTP12", status.name)


class StatusNameTests(SynchronousTestCase):
    def test_every_door_state_has_a_seed_name(self):
        states = set(door.PHASES.values()) | set(door.FINAL.values())
        for state in states:
            self.assertIn(status_name(state), STATUS_NAMES, state)
        for state in door.PHASES.values():   # held by the router or awaiting its receipt
            self.assertEqual(status_name(state), "ATES", state)

    def test_final_states(self):
        for state, name in (("delivered", "DELIVRD"), ("undeliverable", "UNDELIV"),
                            ("expired", "EXPIRED"), ("rejected", "REJECTD"),
                            ("accepted", "ACCEPTD"), ("deleted", "DELETED"),
                            ("unknown", "UNKNOWN"), ("skipped", "UNDELIV"),
                            ("no such state", "UNKNOWN")):
            self.assertEqual(status_name(state), name)

    def test_the_seeds_names(self):
        self.assertEqual(STATUS_NAMES, {"ATES", "DELIVRD", "UNDELIV", "EXPIRED", "REJECTD",
                                        "ACCEPTD", "DELETED", "UNKNOWN"})
