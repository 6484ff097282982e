"""store/links.py on a real Redis: link records, their expiry, clicks."""

import time

from twisted.internet import defer

from smpprouter.store.links import LinkRecord, clicks_key, decode_record, link_key

from .support import StoreTestCase


def record(expires=None, **fields):
    values = dict(target="https://shop.example.com/gift", user="esme1",
                  destination="15551234567", link_id="5",
                  expires=int(time.time()) + 86400 if expires is None else expires,
                  reference='{"correlationid":"c1"}')
    values.update(fields)
    return LinkRecord(**values)


class LinkStoreTests(StoreTestCase):
    @defer.inlineCallbacks
    def test_a_record_is_kept_until_its_expiry_and_never_overwritten(self):
        store = yield self.make_store()
        first = record()
        self.assertTrue((yield store.save_link("AAAAAAAAAA", first)))
        self.assertFalse((yield store.save_link("AAAAAAAAAA", record(user="esme2"))))
        self.assertEqual((yield store.follow_link("AAAAAAAAAA")), first)
        ttl = self.server.command("TTL", "lnk:{AAAAAAAAAA}")
        self.assertTrue(86390 <= int(ttl) <= 86400, ttl)
        named = record(message_id="abc")
        self.assertTrue((yield store.link_message("AAAAAAAAAA", named)))
        self.assertEqual((yield store.follow_link("AAAAAAAAAA")), named)
        self.assertTrue(int(self.server.command("TTL", "lnk:{AAAAAAAAAA}")) > 86000)
        # a record that is gone is not made again by naming its message
        self.assertFalse((yield store.link_message("BBBBBBBBBB", named)))
        self.assertIsNone((yield store.follow_link("BBBBBBBBBB")))
        yield store.drop_link("AAAAAAAAAA")
        self.assertIsNone((yield store.follow_link("AAAAAAAAAA")))

    @defer.inlineCallbacks
    def test_a_record_past_its_expiry_is_not_found(self):
        store = yield self.make_store()
        self.assertTrue((yield store.save_link("CCCCCCCCCC", record(expires=int(time.time())
                                                                   - 1))))
        self.assertIsNone((yield store.follow_link("CCCCCCCCCC")))

    @defer.inlineCallbacks
    def test_clicks_are_counted_per_message_and_link(self):
        store = yield self.make_store()
        expires = int(time.time()) + 3600
        yield store.init_clicks("esme1", "m1", ["5", "sale"], expires)
        self.assertEqual((yield store.clicks("esme1", "m1")), {"5": 0, "sale": 0})
        counts = yield defer.gatherResults([store.count_click("esme1", "m1", "5", expires)
                                            for _ in range(5)])
        self.assertEqual(sorted(counts), [1, 2, 3, 4, 5])
        # init again (a retried write) keeps what was counted
        yield store.init_clicks("esme1", "m1", ["5", "sale"], expires)
        self.assertEqual((yield store.clicks("esme1", "m1")), {"5": 5, "sale": 0})
        self.assertEqual((yield store.clicks("esme1", "m2")), {})
        ttl = int(self.server.command("TTL", "clk:{esme1}:m1"))
        self.assertTrue(3590 <= ttl <= 3600, ttl)

    def test_keys_and_records(self):
        self.assertEqual(link_key("Ab3"), b"lnk:{Ab3}")
        self.assertEqual(clicks_key("esme1", "9f"), b"clk:{esme1}:9f")
        self.assertEqual(decode_record(record().encode()), record())
        for junk in (b"", b"{}", b"[1,2]", b"nonsense"):
            self.assertIsNone(decode_record(junk))
