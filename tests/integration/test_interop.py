"""An ESME nobody here wrote: smpplib (PyPI) against the real router.

smpplib is a blocking client, so it runs in a thread while the router and
the simulated SMSC run on the test's reactor.
"""

import smpplib.client
import smpplib.consts
import smpplib.gsm
from twisted.internet import threads
from twisted.trial.unittest import TestCase

from .harness import RouterHarness, run


def smpplib_session(port, text):
    """Bind, send `text` (split by smpplib), read every receipt; blocking."""
    received, ids = [], []
    client = smpplib.client.Client("127.0.0.1", port, timeout=10,
                                   allow_unknown_opt_params=True)
    client.set_message_received_handler(lambda pdu: received.append(pdu))
    client.set_message_sent_handler(lambda pdu: ids.append(pdu.message_id.decode()))
    client.connect()
    try:
        client.bind_transceiver(system_id="esme1", password="pw1")
        parts, coding, esm_class = smpplib.gsm.make_parts(text)
        for part in parts:
            client.send_message(source_addr_ton=5, source_addr="MyBrand", dest_addr_ton=1,
                                dest_addr_npi=1, destination_addr="15551234567",
                                short_message=part, data_coding=coding, esm_class=esm_class,
                                registered_delivery=1)
            client.read_once()
        while len(received) < len(parts):
            client.read_once()
        client.unbind()
    finally:
        client.disconnect()
    return len(parts), ids, [(p.receipted_message_id.decode(), p.short_message)
                             for p in received]


class SmpplibTests(TestCase):
    timeout = 60

    def setUp(self):
        self.h = RouterHarness()
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    def test_concatenated_gsm_message_and_receipts(self):
        async def go():
            parts, ids, receipts = await threads.deferToThread(
                smpplib_session, self.h.port, "Hello from smpplib! " * 12)
            self.assertEqual(parts, 2)
            self.assertEqual(len(set(ids)), 2)
            self.assertEqual(sorted(r[0] for r in receipts), sorted(ids))
            for message_id, text in receipts:
                self.assertIn(b"id:" + message_id.encode(), text)
            upstream = self.h.smsc.submits
            self.assertEqual([s.esm_class & 0x40 for s in upstream], [0x40, 0x40])
            self.assertEqual(upstream[0].short_message[:3], b"\x05\x00\x03")
        return run(go())

    def test_ucs2_message(self):
        async def go():
            parts, ids, receipts = await threads.deferToThread(
                smpplib_session, self.h.port, "Привет, мир! 😀")
            self.assertEqual(parts, 1)
            self.assertEqual(self.h.smsc.submits[0].data_coding, 8)
            self.assertEqual(self.h.smsc.submits[0].short_message.decode("utf-16-be"),
                             "Привет, мир! 😀")
            self.assertEqual([r[0] for r in receipts], ids)
        return run(go())
