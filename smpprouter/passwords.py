"""User passwords, stored as scrypt hashes and checked without giving anything away.

The config file holds only hashes, so a leaked etc/ does not leak the
passwords ESMEs bind with. scrypt is slow on purpose (~40 ms), and binds come
in bursts when a fleet of ESMEs reconnects, so PasswordCache remembers recent
answers under a per-process key: a reconnecting ESME costs one HMAC, not one
scrypt. An unknown system_id is checked against a dummy hash, through the same
cache, so the time a bind takes does not tell an attacker which users exist.
"""

import base64
import binascii
import hashlib
import hmac
import os
import re
import threading
from collections import OrderedDict

# Parameters of new hashes (RFC 7914's interactive-login choice).
N, R, P = 2 ** 14, 8, 1
SALT_BYTES = 16
HASH_BYTES = 32

_FORMAT = re.compile(
    r"scrypt\$([1-9][0-9]{0,9})\$([1-9][0-9]{0,3})\$([1-9][0-9]{0,3})"
    r"\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})")
# Bounds on what a stored value may ask for, so a bad one cannot stall the reactor
# or exhaust memory: at most 64 MiB for scrypt's V array.
_MAX_MEMORY = 64 * 1024 * 1024


def _derive(password: bytes, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    """The one place scrypt runs (tests count calls through it)."""
    maxmem = 128 * r * (n + 2) + 128 * r * p + 1024 * 1024
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p,
                          maxmem=min(maxmem, 2 ** 31 - 1), dklen=length)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _encode(password) -> bytes:
    if isinstance(password, bytes):
        return password
    return password.encode("utf-8", "surrogatepass")


def _parse(stored):
    """(n, r, p, salt, hash) of a well-formed stored value, else None."""
    if not isinstance(stored, str):
        return None
    match = _FORMAT.fullmatch(stored)
    if match is None:
        return None
    n, r, p = (int(match.group(i)) for i in (1, 2, 3))
    if n < 2 or n & (n - 1) or r * p >= 2 ** 30 or 128 * r * n > _MAX_MEMORY or p > 16:
        return None
    try:
        salt = base64.b64decode(match.group(4), validate=True)
        expected = base64.b64decode(match.group(5), validate=True)
    except (binascii.Error, ValueError):
        return None
    if not 8 <= len(salt) <= 64 or not 16 <= len(expected) <= 64:
        return None
    return n, r, p, salt, expected


def hash_password(password: str) -> str:
    """A new stored value for password: scrypt$N$r$p$<salt b64>$<hash b64>."""
    salt = os.urandom(SALT_BYTES)
    derived = _derive(_encode(password), salt, N, R, P, HASH_BYTES)
    return "scrypt$%d$%d$%d$%s$%s" % (N, R, P, _b64(salt), _b64(derived))


def is_hash(text) -> bool:
    """True if text is a stored value verify_password can check."""
    return _parse(text) is not None


def verify_password(password, stored) -> bool:
    """Does password (str or bytes) match stored? False for a malformed stored value."""
    parsed = _parse(stored)
    if parsed is None:
        return False
    n, r, p, salt, expected = parsed
    try:
        derived = _derive(_encode(password), salt, n, r, p, len(expected))
    except (ValueError, MemoryError, UnicodeError):
        return False
    return hmac.compare_digest(derived, expected)


def hash_service_key(key: str) -> str:
    """A REST service key's stored form: sha256$<hex>.

    Unlike a password, a service key is looked up, not checked against one
    user's hash: the REST request carries only the key. So its stored form is
    an unsalted digest the router indexes (as API tokens are commonly kept);
    that is safe for keys drawn at random (new_service_key), and an operator
    choosing keys by hand is told so in etc/smpprouter.toml.
    """
    return "sha256$" + hashlib.sha256(_encode(key)).hexdigest()


def new_service_key() -> str:
    """A random service key: 32 bytes, URL-safe."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii").rstrip("=")


def _dummy_hash() -> str:
    """A well-formed value no password matches, costing a full scrypt to check."""
    return "scrypt$%d$%d$%d$%s$%s" % (N, R, P, _b64(os.urandom(SALT_BYTES)),
                                      _b64(os.urandom(HASH_BYTES)))


class PasswordCache:
    """Bounded memory of recent verify_password answers.

    Keys are (stored hash, HMAC-SHA256 of the offered password under a key
    drawn at start-up): the offered passwords themselves are never kept, and a
    changed hash in the config (a reload) simply misses. Wrong passwords are
    remembered too, so a misconfigured ESME retrying in a loop costs nothing
    and a hit looks the same whatever its answer. Thread-safe, so a caller may
    run verify() in a thread pool to keep scrypt off the reactor.
    """

    def __init__(self, size: int = 1024):
        if size < 1:
            raise ValueError("size must be at least 1, not %r" % (size,))
        self.size = size
        self._key = os.urandom(32)
        self._dummy = _dummy_hash()
        self._answers = OrderedDict()
        self._lock = threading.Lock()

    def _cache_key(self, password, stored):
        if stored is None:
            stored = self._dummy
        digest = hmac.new(self._key, _encode(password), hashlib.sha256).digest()
        return stored, digest

    def cache_key(self, password, stored):
        """What identifies a (password, stored hash) pair here, without the password."""
        return self._cache_key(password, stored)

    def peek(self, password, stored):
        """The remembered answer (bool), or None when verify() would run scrypt."""
        key = self._cache_key(password, stored)
        with self._lock:
            answer = self._answers.get(key)
            if answer is not None:
                self._answers.move_to_end(key)
        if answer is None:
            return None
        return answer and stored is not None

    def verify(self, password, stored) -> bool:
        """verify_password through the cache; stored None means an unknown user
        (always False, after the same work as a known one)."""
        answer = self.peek(password, stored)
        if answer is not None:
            return answer
        key = self._cache_key(password, stored)
        answer = verify_password(password, key[0])
        with self._lock:
            self._answers[key] = answer
            self._answers.move_to_end(key)
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)
        return answer and stored is not None

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()
