"""The store's hot calls in their plain form.

Every message and receipt makes four store calls (save_mapping, get_mapping,
enqueue, ack) whose answer only the caller waits for, so RedisStore also takes
them as `<call>_then(then, *args)`, answering a Then (smpprouter/then.py)
instead of returning a Deferred. The Deferred forms stay (one Deferred each)
for every other caller.

A store without the plain forms (the tests' fakes) is called through
`plain_forms(store)`, which adapts its Deferred forms.
"""

from ..then import Then

__all__ = ["Then", "plain_forms"]


class _DeferredForms:
    """The plain forms over a store that has only the Deferred ones."""

    def __init__(self, store):
        self._store = store

    def save_mapping_then(self, then, connector, upstream_id, mapping, ttl, record=False):
        self._store.save_mapping(connector, upstream_id, mapping, ttl, record).addCallbacks(
            then.callback, then.errback)

    def get_mapping_then(self, then, connector, upstream_id, state=None):
        self._store.get_mapping(connector, upstream_id, state).addCallbacks(
            then.callback, then.errback)

    def enqueue_then(self, then, user, payload):
        self._store.enqueue(user, payload).addCallbacks(then.callback, then.errback)

    def ack_then(self, then, user, entry_id):
        self._store.ack(user, entry_id).addCallbacks(then.callback, then.errback)


def plain_forms(store):
    """What the core makes its hot calls on: the store itself when it has the
    plain forms, else an adapter over its Deferred forms."""
    if hasattr(store, "save_mapping_then"):
        return store
    return _DeferredForms(store)
