import base64
import hashlib

from twisted.trial.unittest import SynchronousTestCase

from smpprouter import passwords
from smpprouter.passwords import PasswordCache, hash_password, is_hash, verify_password


def _cheap_hash(password, salt=b"0123456789abcdef", n=16, r=1, p=1):
    """A valid stored value with tiny parameters, so cache tests run fast."""
    derived = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return "scrypt$%d$%d$%d$%s$%s" % (n, r, p, base64.b64encode(salt).decode(),
                                      base64.b64encode(derived).decode())


class HashTests(SynchronousTestCase):
    def test_round_trip(self):
        stored = hash_password("pw1")
        self.assertTrue(stored.startswith("scrypt$16384$8$1$"))
        self.assertTrue(is_hash(stored))
        self.assertTrue(verify_password("pw1", stored))
        self.assertTrue(verify_password(b"pw1", stored))

    def test_wrong_password(self):
        stored = hash_password("pw1")
        for wrong in ("pw2", "", "pw1 ", "PW1"):
            self.assertFalse(verify_password(wrong, stored))

    def test_salt_is_random(self):
        one, two = hash_password("same"), hash_password("same")
        self.assertNotEqual(one, two)
        self.assertNotEqual(one.split("$")[4], two.split("$")[4])
        self.assertEqual(len(base64.b64decode(one.split("$")[4])), 16)

    def test_stored_parameters_are_honoured(self):
        self.assertTrue(verify_password("pw", _cheap_hash("pw", n=32, r=2, p=2)))
        self.assertFalse(verify_password("px", _cheap_hash("pw", n=32, r=2, p=2)))

    def test_unicode_password(self):
        stored = _cheap_hash("p\u00e4ss")
        self.assertTrue(verify_password("p\u00e4ss", stored))
        self.assertFalse(verify_password("pass", stored))

    def test_malformed_stored_values_are_false_not_errors(self):
        good = _cheap_hash("pw")
        fields = good.split("$")
        malformed = [
            None, 42, b"scrypt", "", "pw", "scrypt$", "scrypt$16$1$1$$",
            good + "$", good.replace("scrypt", "bcrypt"),
            "$".join(fields[:1] + ["15"] + fields[2:]),          # n not a power of two
            "$".join(fields[:1] + ["0"] + fields[2:]),
            "$".join(fields[:1] + ["-16"] + fields[2:]),
            "$".join(fields[:1] + [str(2 ** 30)] + fields[2:]),  # too costly
            "$".join(fields[:2] + ["0"] + fields[3:]),
            "$".join(fields[:4] + ["!!!!"] + fields[5:]),        # not base64
            "$".join(fields[:4] + ["AAA"] + fields[5:]),         # bad padding
            "$".join(fields[:5] + ["AAAA"]),                     # hash too short
            "$".join(fields[:4] + ["AAAA"] + fields[5:]),        # salt too short
        ]
        for stored in malformed:
            self.assertFalse(is_hash(stored), stored)
            self.assertFalse(verify_password("pw", stored), stored)


class CacheTests(SynchronousTestCase):
    def setUp(self):
        self.calls = 0
        real = passwords._derive

        def counting(*args):
            self.calls += 1
            return real(*args)
        self.patch(passwords, "_derive", counting)

    def test_hit_does_not_call_scrypt(self):
        cache = PasswordCache()
        stored = _cheap_hash("pw")
        self.assertIsNone(cache.peek("pw", stored))
        self.assertTrue(cache.verify("pw", stored))
        self.assertEqual(self.calls, 1)
        for _ in range(3):
            self.assertTrue(cache.verify("pw", stored))
        self.assertEqual(self.calls, 1)
        self.assertTrue(cache.peek("pw", stored))

    def test_wrong_passwords_are_remembered_as_wrong(self):
        cache = PasswordCache()
        stored = _cheap_hash("pw")
        self.assertFalse(cache.verify("bad", stored))
        self.assertFalse(cache.verify("bad", stored))
        self.assertEqual(self.calls, 1)
        self.assertTrue(cache.verify("pw", stored))
        self.assertEqual(self.calls, 2)

    def test_changed_hash_misses(self):
        cache = PasswordCache()
        self.assertTrue(cache.verify("pw", _cheap_hash("pw")))
        new = _cheap_hash("pw", salt=b"another salt....")
        self.assertTrue(cache.verify("pw", new))
        self.assertEqual(self.calls, 2)
        self.assertFalse(cache.verify("pw", _cheap_hash("other")))

    def test_unknown_user_costs_one_scrypt_and_always_fails(self):
        cache = PasswordCache()
        self.assertFalse(cache.verify("pw", None))
        self.assertEqual(self.calls, 1)
        self.assertFalse(cache.verify("pw", None))
        self.assertEqual(self.calls, 1)        # cached like a known user's answer
        self.assertFalse(cache.peek("pw", None))
        self.assertFalse(cache.verify("", None))
        self.assertEqual(self.calls, 2)

    def test_unknown_user_is_checked_at_full_cost(self):
        seen = []
        self.patch(passwords, "_derive", lambda *args: seen.append(args[2:]) or b"x" * args[5])
        PasswordCache().verify("pw", None)
        self.assertEqual(seen, [(passwords.N, passwords.R, passwords.P, passwords.HASH_BYTES)])

    def test_bounded(self):
        cache = PasswordCache(size=2)
        stored = _cheap_hash("pw")
        for password in ("a", "b", "c"):
            cache.verify(password, stored)
        self.assertEqual(self.calls, 3)
        self.assertIsNone(cache.peek("a", stored))          # the oldest went
        cache.verify("c", stored)
        self.assertEqual(self.calls, 3)
        self.assertEqual(len(cache._answers), 2)

    def test_offered_passwords_are_not_kept(self):
        cache = PasswordCache()
        cache.verify("secret-offer", _cheap_hash("pw"))
        self.assertNotIn("secret-offer", repr(list(cache._answers)))
        self.assertNotIn(b"secret-offer", b"".join(k[1] for k in cache._answers))

    def test_clear(self):
        cache = PasswordCache()
        stored = _cheap_hash("pw")
        cache.verify("pw", stored)
        cache.clear()
        cache.verify("pw", stored)
        self.assertEqual(self.calls, 2)
