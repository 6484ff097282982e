"""Smart links in a message's text: the {{link_<id>}} placeholders and the
short tokens that replace them. Pure: the random source is an argument.

A token is TOKEN_LENGTH characters of base62 (0-9, A-Z, a-z), drawn from
os.urandom by rejection sampling (a byte of 248 or more is dropped: 248 is
4 x 62, so every character is equally likely). Ten characters hold 59.5
bits: with a billion links alive, a guesser needs about 8 x 10^8 requests
per hit, while the link stays short in an SMS (a 22-character base URL
makes it 32).
"""

import os
import re

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
TOKEN_LENGTH = 10
_LIMIT = 4 * len(ALPHABET)   # 248: bytes below it map evenly onto the alphabet
LINK_ID = re.compile(r"[A-Za-z0-9_\-]{1,32}")
PLACEHOLDER = re.compile(r"\{\{link_([A-Za-z0-9_\-]{1,32})\}\}")
_TOKEN = re.compile(r"[0-9A-Za-z]{%d}" % TOKEN_LENGTH)


def new_token(randbytes=os.urandom) -> str:
    """A fresh token; randbytes(n) gives n random octets."""
    out = []
    alphabet = ALPHABET
    while len(out) < TOKEN_LENGTH:
        for octet in randbytes(TOKEN_LENGTH + 2):
            if octet < _LIMIT:
                out.append(alphabet[octet % 62])
                if len(out) == TOKEN_LENGTH:
                    break
    return "".join(out)


def is_token(name: str) -> bool:
    """Could this path segment be a token (so it is worth asking Redis)?"""
    return _TOKEN.fullmatch(name) is not None


def link_ids(text: str) -> list:
    """The ids of the text's {{link_<id>}} placeholders, each once, in order."""
    if "{{link_" not in text:
        return []
    return list(dict.fromkeys(PLACEHOLDER.findall(text)))


def fill_links(text: str, urls: dict) -> str:
    """text with each {{link_<id>}} whose id urls has replaced by its URL;
    any other placeholder is left as written."""
    return PLACEHOLDER.sub(lambda m: urls.get(m.group(1), m.group(0)), text)
