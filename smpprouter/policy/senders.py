"""Which source addresses (sender ids) a user may send from.

A user's `sender_ids` lists exact ids and glob patterns (fnmatch's `*`, `?`,
`[...]`), compared case-sensitively with the source address as sent: an
alphanumeric sender is shown on the handset exactly as written, so "MyBank"
allowed does not allow "MYBANK". Globs rather than regexes because an operator
writes them per customer and a glob cannot be slow or surprising. A list
without any pattern is one set look-up per message.
"""

import fnmatch
import re

_GLOB = re.compile(r"[*?\[]")


def sender_matcher(sender_ids):
    """source -> bool for a user's sender_ids (a non-empty sequence)."""
    exact = frozenset(s for s in sender_ids if not _GLOB.search(s))
    patterns = [fnmatch.translate(s) for s in sender_ids if _GLOB.search(s)]
    if not patterns:
        return exact.__contains__
    match = re.compile("|".join("(?:%s)" % p for p in patterns)).match

    def allowed(source):
        return source in exact or match(source) is not None
    return allowed
