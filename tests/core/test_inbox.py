"""Which of a user's two queues an entry goes to: SMPP receivers or webhooks."""

from twisted.trial.unittest import SynchronousTestCase

from smpprouter.config import User
from smpprouter.core.inbox import queue_for, webhook_queue
from smpprouter.core.messages import Inbound, Receipt
from smpprouter.http.meta import encode_meta


def _user(name, **http):
    return User(name=name, password="x", groups=frozenset(), max_binds=1, throughput=0,
                window=10, message_id="hex", **http)


USERS = {u.name: u for u in (_user("smpp"), _user("dlr", dlr_url="https://e.com/d"),
                             _user("mo", mo_url="https://e.com/m"))}


def _receipt(reference=""):
    return Receipt("1", 2, b"id:1 stat:DELIVRD", reference=reference)


MO = Inbound("smsc", "4477", "100", b"hi")


class QueueTests(SynchronousTestCase):
    def test_smpp_users_keep_their_queue(self):
        self.assertEqual(queue_for(USERS, "smpp", _receipt()), "smpp")
        self.assertEqual(queue_for(USERS, "smpp", MO), "smpp")

    def test_a_message_with_a_notifyurl_gets_its_receipt_as_a_webhook(self):
        reference = encode_meta({"notifyurl": "https://e.com/x"})
        self.assertEqual(queue_for(USERS, "smpp", _receipt(reference)), webhook_queue("smpp"))
        # other meta alone does not move it
        reference = encode_meta({"correlationid": "c"})
        self.assertEqual(queue_for(USERS, "smpp", _receipt(reference)), "smpp")

    def test_dlr_url_takes_receipts_mo_url_takes_mos(self):
        self.assertEqual(queue_for(USERS, "dlr", _receipt()), "hook:dlr")
        self.assertEqual(queue_for(USERS, "dlr", MO), "dlr")
        self.assertEqual(queue_for(USERS, "mo", _receipt()), "mo")
        self.assertEqual(queue_for(USERS, "mo", MO), "hook:mo")

    def test_unknown_user(self):
        self.assertEqual(queue_for(USERS, "gone", _receipt()), "gone")
