"""Smart links: each destination's own short link, its redirect, its clicks.

A REST message whose text holds {{link_<id>}} (restparse.py: the request's
channels.smartlinks names the id, [http] links gives its target) is sent
with [http] link_base + a fresh token (linktext.py) in place of each
placeholder, one token per link and destination, before the MT core sees
the text: what is split and charged is the text with its links in.

The order of the Redis work (store/links.py) keeps one promise: no message
goes out with a link that does not lead anywhere.
1. Every link's record is stored (SET NX, expiring after its validity)
   before any message is handed to the core. A destination whose records
   could not all be stored is not sent (Outcome STORE_DOWN: try again).
2. The messages go to the core (Door.send).
3. Each accepted message's records get its router id, and its clicks hash
   lists its links at 0; the records of a message not accepted are
   deleted. The request is answered after that, so a message whose id the
   client has can be asked for its clicks. (If that write fails the links
   still lead to their targets; their clicks are not counted: logged once
   per request.)

A redirect (links.py) reads the record (GET), counts the click in the
message's hash (one script) and, for a user with a click_url, queues a
Click on the user's webhook queue, then answers 302. A token unknown or
past its validity (Redis has expired its record) is 404: see links.py.
"""

import os
import time
from dataclasses import replace

from twisted.internet import defer
from twisted.logger import Logger

from ..core.codec import encode_click
from ..core.inbox import webhook_queue
from ..core.messages import Click, Outcome
from ..core.mt import STORE_DOWN
from ..smpp.status import Status
from ..store.links import LinkRecord
from .linktext import TOKEN_LENGTH, fill_links, new_token
from .meta import encode_meta

DAY = 86400

log = Logger()


class Smartlinks:
    def __init__(self, store, base: str, table: dict, users, *, clock=time.time,
                 randbytes=os.urandom):
        self.store = store
        self.base = base            # [http] link_base, ending in "/"
        self.table = table          # {id: linktable.Link}; swapped on reload
        self.users = users          # name -> config.User (their click_url)
        self.clock = clock
        self.randbytes = randbytes

    @property
    def link_length(self) -> int:
        """Characters a short link takes in a text."""
        return len(self.base) + TOKEN_LENGTH

    # -- sending --------------------------------------------------------------

    def send(self, send, user, messages):
        """Deferred(list of Outcome) as Door.send (send), the messages' links made."""
        return defer.Deferred.fromCoroutine(self._send(send, user, messages))

    async def _send(self, send, user, messages):
        now = int(self.clock())
        store = self.store
        made = {}      # index -> [(token, LinkRecord)]
        saves = []     # (index, Deferred)
        randbytes, base = self.randbytes, self.base
        for index, message in enumerate(messages):
            if not message.links:
                continue
            reference = encode_meta(message.meta)
            urls = {}
            tokens = made[index] = []
            for link_id, target, days in message.links:
                token = new_token(randbytes)
                record = LinkRecord(target, user.name, message.destination, link_id,
                                    now + days * DAY, reference)
                tokens.append((token, record))
                urls[link_id] = base + token
                saves.append((index, store.save_link(token, record)))
            message.text = fill_links(message.text, urls)
        results = await defer.DeferredList([d for _, d in saves], consumeErrors=True)
        unsaved = {index for (index, _), (ok, stored) in zip(saves, results)
                   if not ok or not stored}
        if unsaved:
            log.warn("REST: smart links of {n} message(s) of {user} not stored: those are "
                     "not sent", n=len(unsaved), user=user.name)
        going = [i for i in range(len(messages)) if i not in unsaved]
        outcomes = [Outcome(STORE_DOWN)] * len(messages)
        if going:
            sent = await send(user, [messages[i] for i in going])
            for i, outcome in zip(going, sent):
                outcomes[i] = outcome
        writes = []
        for index, tokens in made.items():
            outcome = outcomes[index]
            if outcome.status != Status.ESME_ROK:
                writes += [store.drop_link(token) for token, _ in tokens]
                continue
            message_id = outcome.message_id
            expires = 0
            for token, record in tokens:
                writes.append(store.link_message(token, replace(record, message_id=message_id)))
                expires = max(expires, record.expires)
            writes.append(store.init_clicks(user.name, message_id,
                                            [r.link_id for _, r in tokens], expires))
        if writes:
            results = await defer.DeferredList(writes, consumeErrors=True)
            failed = [r for ok, r in results if not ok]
            if failed:
                log.warn("REST: {n} smart-link write(s) for {user} failed (their clicks are "
                         "not counted): {error}", n=len(failed), user=user.name,
                         error=failed[0].getErrorMessage())
        return outcomes

    # -- following ------------------------------------------------------------

    def follow(self, token: str, count: bool = True):
        """Deferred(LinkRecord, or None: unknown or expired). count: a click
        (a GET), counted and, for a user with a click_url, queued as a webhook;
        the Deferred fires once both are done (or failed: logged)."""
        d = self.store.follow_link(token)
        if count:
            d.addCallback(self._count)
        return d

    def _count(self, record):
        if record is None or not record.message_id:
            return record   # not accepted yet, or its id not written: no message to count
        if record.expires <= self.clock():
            return None
        d = self.store.count_click(record.user, record.message_id, record.link_id,
                                   record.expires)
        account = self.users.get(record.user)
        if account is not None and account.click_url:
            d.addCallback(self._queue_click, record)
        d.addErrback(_not_counted, record)
        return d.addCallback(lambda _: record)

    def _queue_click(self, clicks, record):
        click = Click(record.message_id, record.link_id, record.target, record.destination,
                      clicks, self.clock(), record.reference)
        return self.store.enqueue(webhook_queue(record.user), encode_click(click))

    def clicks(self, user_name, message_id):
        """Deferred({link id: clicks}) of a message ({} for one without links)."""
        return self.store.clicks(user_name, message_id)


def _not_counted(failure, record):
    log.warn("smart link click on {user}'s message {message_id} not counted (or its "
             "webhook not queued): {error}", user=record.user, message_id=record.message_id,
             error=failure.getErrorMessage())
