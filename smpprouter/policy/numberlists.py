"""Destination numbers as the number lists keep them, and the CSV files they come in.

Pure: the CLI (`smpprouter lists`) parses here, the core normalises with the
routing table's normalise, so "+4477...", "004477..." and "4477..." are one
entry.
"""

import csv
import re

from ..routing.rules import normalise

_NUMBER = re.compile(r"[0-9]{1,20}\Z")


class BadNumber(ValueError):
    pass


def number(text: str) -> str:
    """The list form of a number as written by a person: spaces, dashes and
    brackets dropped, the international prefix ("+", "00") dropped."""
    cleaned = normalise(re.sub(r"[\s().-]", "", text))
    if not _NUMBER.match(cleaned):
        raise BadNumber("%r is not a phone number (up to 20 digits, optionally + or 00 "
                        "first)" % text)
    return cleaned


def read_csv(lines):
    """The numbers of a CSV file's first column, in order, duplicates kept once.
    A first row that is not a number is a header; an empty row is skipped. A bad
    number raises BadNumber naming its line, and nothing is taken."""
    out = {}
    for index, row in enumerate(csv.reader(lines), 1):
        if not row or not row[0].strip():
            continue
        try:
            out[number(row[0])] = None
        except BadNumber as e:
            if index == 1:
                continue   # a header
            raise BadNumber("line %d: %s" % (index, e)) from None
    return list(out)
