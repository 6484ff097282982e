"""Numbers to E.164: the international form an upstream reads without guessing.

The rules, in order (first that applies):
1. spaces, hyphens and dots are visual separators: dropped;
2. a leading "+", or else a leading "00", is the international prefix: dropped;
3. with a country code: a number starting with the trunk prefix (default "0")
   is national: the trunk prefix is replaced by the country code; so is a
   number whose TON says national (2) without it;
4. anything else is taken as international already (TON 1, or unknown 0 with
   no trunk prefix: the usual "447700900123").
The result must be 7 to 15 ASCII digits, not starting with 0 (no country code
does); otherwise the number cannot be normalised and the answer is None (the
core refuses it with ESME_RINVDSTADR). Parentheses are refused rather than
dropped: "+44 (0)20 ..." would silently become a wrong number.

Pure and total: any string in, a string or None out, never an exception.
"""

from dataclasses import dataclass

MIN_DIGITS = 7       # the shortest E.164 numbers in service (e.g. +290 xxxx)
MAX_DIGITS = 15      # E.164's maximum, country code included
TON_NATIONAL = 2
_SEPARATORS = str.maketrans("", "", " -.")


@dataclass(frozen=True, slots=True)
class E164:
    """How one user's or one route's national numbers read: its country code
    ("" = none: only the international forms are normalised) and trunk prefix."""
    country_code: str = ""
    trunk_prefix: str = "0"

    def __call__(self, number, ton=0):
        """The E.164 digits of number (no "+"), or None when it cannot be made one."""
        if type(number) is not str:
            return None
        n = number.translate(_SEPARATORS)
        if n[:1] == "+":
            n = n[1:]
        elif n[:2] == "00":
            n = n[2:]
        elif self.country_code:
            trunk = self.trunk_prefix
            if trunk and n.startswith(trunk):
                n = self.country_code + n[len(trunk):]
            elif ton == TON_NATIONAL:
                n = self.country_code + n
        if MIN_DIGITS <= len(n) <= MAX_DIGITS and n.isdigit() and n.isascii() and n[0] != "0":
            return n
        return None


def is_numeric(address) -> bool:
    """Does this source look like a number (digits, maybe with + / separators), as
    opposed to an alphanumeric sender id, which no normalisation touches?"""
    if type(address) is not str:
        return False
    n = address.translate(_SEPARATORS).lstrip("+")
    return n.isdigit() and n.isascii()


def country_code_problem(value) -> str:
    """Why value is not a country code ("" when it is one)."""
    if not isinstance(value, str) or not value.isdigit() or not value.isascii() \
            or not 1 <= len(value) <= 3 or value[0] == "0":
        return "must be a country code: 1 to 3 digits, not starting with 0 (\"44\", \"1\")"
    return ""


def trunk_prefix_problem(value) -> str:
    if not isinstance(value, str) or len(value) > 2 or (value and not value.isdigit()):
        return "must be the national trunk prefix: \"0\" (most countries), \"8\", \"1\", " \
               "or \"\" for none"
    return ""
