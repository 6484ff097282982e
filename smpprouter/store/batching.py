"""Small helpers the batching store modules share (redis.py, outbound.py)."""


def chunks(items, size):
    """items in lists of at most size (items itself when it fits)."""
    if len(items) <= size:
        yield items
    else:
        for i in range(0, len(items), size):
            yield items[i:i + size]


def resolve(d, value):
    if d is not None and not d.called:   # None: a caller that waits for nothing
        d.callback(value)


def reject(d, error):
    if d is not None and not d.called:
        d.errback(error)
