"""Destination numbers and sender ids as the lists keep them, and the CSV files
they come in.

Pure: the CLI (`smpprouter lists`) parses here, the core normalises with the
routing table's normalise, so "+4477...", "004477..." and "4477..." are one
entry. Sender ids (the `sender` list) are kept by sender_id: a numeric one as
a number (a long code is a phone number, written as people write numbers), an
alphanumeric one lowercased (handsets and operators show "MyBrand" and
"MYBRAND" as the same sender, so a block on one must hold for the other).
"""

import csv
import re

from ..routing.rules import normalise

_NUMBER = re.compile(r"[0-9]{1,20}\Z")
_WRITTEN = re.compile(r"[\s().-]")
_NUMERIC = re.compile(r"(?:\+|00)?[0-9]+\Z")
_SENDER = re.compile(r"[\x20-\x7e]{1,20}\Z")   # SMPP source_addr: up to 20 octets


class BadNumber(ValueError):
    pass


def number(text: str) -> str:
    """The list form of a number as written by a person: spaces, dashes and
    brackets dropped, the international prefix ("+", "00") dropped."""
    cleaned = normalise(_WRITTEN.sub("", text))
    if not _NUMBER.match(cleaned):
        raise BadNumber("%r is not a phone number (up to 20 digits, optionally + or 00 "
                        "first)" % text)
    return cleaned


def sender_id(source: str) -> str:
    """The list form of a source_addr as an ESME sends it (the core's, never
    raises): digits, with "+" or "00" first and the spaces and dashes people
    write, are a number; anything else an alphanumeric id, lowercased."""
    if source[:1].isdigit() or source[:1] == "+":
        cleaned = _WRITTEN.sub("", source)
        if _NUMERIC.match(cleaned):
            return normalise(cleaned)
    return source.lower()


def sender(text: str) -> str:
    """The list form of a sender id as written by an operator (the CLI's)."""
    stripped = text.strip()
    kept = sender_id(stripped) if _SENDER.match(stripped) else ""
    if not kept:
        raise BadNumber("%r is not a sender id (1 to 20 printable ASCII characters, as "
                        "the ESME sends source_addr)" % text)
    return kept


# A header can itself be a valid sender id: these first cells are taken as one.
SENDER_HEADERS = frozenset(("sender", "sender id", "sender_id", "senderid", "source",
                            "source_addr", "from"))


def read_csv(lines, parse=number):
    """The numbers (or, with parse=sender, sender ids) of a CSV file's first column,
    in order, duplicates kept once. A first row that does not parse (for sender
    ids: one of SENDER_HEADERS) is a header; an empty row is skipped. A bad row
    raises BadNumber naming its line, and nothing is taken."""
    out = {}
    for index, row in enumerate(csv.reader(lines), 1):
        if not row or not row[0].strip():
            continue
        if index == 1 and parse is sender and row[0].strip().lower() in SENDER_HEADERS:
            continue
        try:
            out[parse(row[0])] = None
        except BadNumber as e:
            if index == 1:
                continue   # a header
            raise BadNumber("line %d: %s" % (index, e)) from None
    return list(out)
