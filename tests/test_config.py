import dataclasses
import os
import re
import shutil
import tomllib

from twisted.trial.unittest import SynchronousTestCase

from smpprouter.config import KEYS, ConfigError, OutboundConfig, load_config
from smpprouter.passwords import verify_password
from smpprouter.tomlfile import TomlFile

ETC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "etc")
SHIPPED = os.path.join(ETC, "smpprouter.toml")

# hash_password("pw1"), made once so the tests do not pay scrypt for it.
HASH = ("scrypt$16384$8$1$5NQxv9IIA8ttu2bmUWsJ4w==$"
        "b/XyG00u7WD3bTskNTbl9GqiCmoQQlxAZTc/XsANMEo=")

MINIMAL = """\
[listeners.smpp]
endpoint = "tcp:2775"

[connectors.smsc]
host = "10.0.0.1"
port = 2776
system_id = "router"

[users.esme1]
password = "%s"
""" % HASH


class ConfigTestCase(SynchronousTestCase):
    def write(self, text, name="smpprouter.toml"):
        directory = self.mktemp()
        os.makedirs(directory)
        path = os.path.join(directory, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def load(self, text, overrides=None):
        return load_config(self.write(text), overrides)

    def assertError(self, text, needle, key, *fragments, overrides=None):
        """Loading text fails at the line containing needle (None: no line), for key."""
        path = self.write(text)
        error = self.assertRaises(ConfigError, load_config, path, overrides)
        line = None
        if needle is not None:
            line = [i for i, l in enumerate(text.splitlines(), 1) if needle in l][0]
        self.assertEqual((error.path, error.line, error.key), (path, line, key))
        where = path if line is None else "%s:%d" % (path, line)
        message = str(error)
        self.assertTrue(message.startswith("%s: %s: " % (where, key)), message)
        for fragment in fragments:
            self.assertIn(fragment, message)
        return error


class ShippedConfigTests(ConfigTestCase):
    def test_shipped_example_is_valid(self):
        config = load_config(SHIPPED)
        self.assertEqual(config.path, SHIPPED)
        self.assertEqual(config.router.name, "smpprouter")
        self.assertEqual(config.routes, os.path.join(ETC, "routes.toml"))
        self.assertEqual(config.router.var_dir, os.path.join(os.path.dirname(ETC), "var"))
        self.assertEqual(config.router.pid_file,
                         os.path.join(config.router.var_dir, "smpprouter.pid"))
        self.assertTrue(config.redis.embedded)
        self.assertEqual(list(config.listeners), ["smpp", "http"])
        self.assertEqual([l.protocol for l in config.listeners.values()], ["smpp", "http"])
        listener = config.listeners["smpp"]
        self.assertEqual((listener.endpoint, listener.tls),
                         ("tcp:2775:interface=127.0.0.1", None))
        smsc = config.connector("smsc")
        self.assertEqual((smsc.host, smsc.port, smsc.system_id, smsc.password, smsc.bind,
                          smsc.binds),
                         ("127.0.0.1", 2776, "router", "secret", "transceiver", 1))
        self.assertEqual(list(config.users), ["esme1", "esme2"])
        for name, password in (("esme1", "pw1"), ("esme2", "pw2")):
            user = config.user(name)
            self.assertEqual((user.max_binds, user.throughput), (3, 0.0))
            self.assertTrue(verify_password(password, user.password))
        self.assertIsNone(config.user("esme3"))
        self.assertEqual(config.smpp.window, 100)


# A commented-out key or table line of the shipped file: "# key = value  # meaning"
# or "# [table]"; prose and continued comments ("#   # more") are not.
_COMMENTED = re.compile(r"^#\s?((?:\[[A-Za-z0-9_.]+\]|[A-Za-z_][A-Za-z0-9_]*"
                        r"(?:\.[A-Za-z_][A-Za-z0-9_]*)*\s*=).*)$")


def _shown_tables(text):
    """{table as KEYS names it ("users.NAME" for every user): the keys the text shows},
    once its commented-out keys and tables are uncommented."""
    data = tomllib.loads("\n".join(_COMMENTED.sub(r"\1", line) for line in text.splitlines()))
    shown = {}

    def walk(path, table):
        keys = shown.setdefault(path, set())
        for key, value in table.items():
            keys.add(key)
            child = path + "." + key if path else key
            if child in ("listeners", "connectors", "users"):
                for named in value.values():
                    walk(child + ".NAME", named)
            elif isinstance(value, dict) and child in KEYS:
                walk(child, value)

    walk("", data)
    return shown


class ShippedFileShowsEveryKeyTests(SynchronousTestCase):
    """etc/smpprouter.toml documents every key config.py accepts, each once."""

    def setUp(self):
        with open(SHIPPED, encoding="utf-8") as f:
            self.text = f.read()

    def test_every_accepted_key_is_shown(self):
        shown = _shown_tables(self.text)
        for table, keys in KEYS.items():
            missing = [key for key in keys if key not in shown.get(table, ())]
            self.assertEqual(missing, [], "[%s] keys not shown in %s" % (table, SHIPPED))

    def test_no_key_is_shown_that_is_not_accepted(self):
        for table, keys in _shown_tables(self.text).items():
            self.assertEqual(sorted(keys - set(KEYS[table])), [],
                             "[%s] keys in %s that config.py does not accept"
                             % (table, SHIPPED))

    def test_a_missing_key_is_noticed(self):
        text = "\n".join(line for line in self.text.splitlines()
                         if not line.startswith("# schedule_interval"))
        self.assertNotIn("schedule_interval", _shown_tables(text)["outbound"])
        self.assertIn("schedule_interval", _shown_tables(self.text)["outbound"])

    def test_uncommenting_every_key_gives_a_valid_file(self):
        # Each key shown once, with a value config.py accepts: uncommented, the
        # file is still TOML (no key twice) and loads, given the files it names.
        directory = self.mktemp()
        os.makedirs(os.path.join(directory, "tls"))
        path = os.path.join(directory, "smpprouter.toml")
        with open(path, "w") as f:
            f.write("\n".join(_COMMENTED.sub(r"\1", line) for line in self.text.splitlines()))
        uncommented = TomlFile(path).data
        for name in (uncommented["listeners"]["smpp"]["tls"]["certificate"],
                     uncommented["listeners"]["smpp"]["tls"]["private_key"],
                     uncommented["listeners"]["smpp"]["tls"]["ca"],
                     uncommented["connectors"]["smsc"]["tls_ca"],
                     uncommented["http"]["templates"], uncommented["http"]["links"],
                     uncommented["router"]["content"]):
            open(os.path.join(directory, name), "w").close()
        receipt_map = uncommented["connectors"]["smsc"]["receipt_map"]
        os.makedirs(os.path.dirname(os.path.join(directory, receipt_map)))
        shutil.copy(os.path.join(ETC, receipt_map), os.path.join(directory, receipt_map))
        config = load_config(path)
        self.assertEqual(config.connectors["smsc"].max_octets, 140)
        self.assertIn((("err", "401"), ("REJECTD", 19)), config.connectors["smsc"].receipt_map)
        self.assertEqual(config.outbound, OutboundConfig())
        self.assertFalse(config.redis.embedded)
        self.assertEqual(config.listeners["smpp"].tls.min_version, "1.2")
        self.assertEqual(config.connectors["smsc"].tls_hostname, "smsc.example")


class DefaultsTests(ConfigTestCase):
    def test_minimal_file_gets_the_documented_defaults(self):
        config = self.load(MINIMAL)
        base = os.path.dirname(os.path.abspath(config.path))
        self.assertEqual(config.router, type(config.router)(
            name="smpprouter", var_dir=os.path.normpath(os.path.join(base, "../var")),
            routing="table", routes=os.path.join(base, "routes.toml"),
            pid_file=os.path.normpath(os.path.join(base, "../var/smpprouter.pid"))))
        self.assertEqual((config.redis.max_queue, config.redis.dlr_retention), (100000, 259200))
        self.assertEqual(dataclasses.astuple(config.smpp), (100, 70000, 30, 60, 300, 30, 10))
        self.assertEqual(config.outbound, OutboundConfig(
            max_queue=1000000, default_validity=172800, max_validity=604800, retry_min=1.0,
            retry_max=60.0, schedule_interval=1.0, batch=100))
        smsc = config.connectors["smsc"]
        self.assertEqual(
            (smsc.password, smsc.system_type, smsc.interface_version, smsc.bind, smsc.binds,
             smsc.window, smsc.throughput, smsc.enquire_link_interval, smsc.response_timeout,
             smsc.reconnect_min, smsc.reconnect_max, smsc.hold_unbound, smsc.dlr_expiry,
             smsc.resp_id, smsc.receipt_id, smsc.tls, smsc.tls_ca, smsc.tls_hostname,
             smsc.tls_min_version),
            ("", "", 0x34, "transceiver", 1, 10, 0.0, 30, 30, 1.0, 60.0, 5.0, 259200, "as-is",
             "as-is", False, None, "10.0.0.1", "1.2"))
        user = config.users["esme1"]
        self.assertEqual((user.groups, user.max_binds, user.throughput, user.window,
                          user.message_id, user.dlr_retention, user.window_policy,
                          user.store_and_forward),
                         (frozenset(), 3, 0.0, 100, "hex", 0, "pause", False))

    def test_user_window_zero_means_the_smpp_window(self):
        config = self.load("[smpp]\nwindow = 50\n" + MINIMAL + "[users.esme2]\n"
                           'password = "%s"\nwindow = 5\n' % HASH)
        self.assertEqual((config.users["esme1"].window, config.users["esme2"].window), (50, 5))

    def test_relative_paths_resolve_against_the_file(self):
        config = self.load('[router]\nvar_dir = "data"\nroutes = "../r.toml"\n'
                           'pid_file = "/run/x.pid"\n' + MINIMAL)
        base = os.path.dirname(os.path.abspath(config.path))
        self.assertEqual(config.router.var_dir, os.path.join(base, "data"))
        self.assertEqual(config.routes, os.path.join(os.path.dirname(base), "r.toml"))
        self.assertEqual(config.router.pid_file, "/run/x.pid")

    def test_tables_keep_file_order(self):
        text = MINIMAL
        for name in ("zed", "alpha", "mid"):
            text += '[users.%s]\npassword = "%s"\n' % (name, HASH)
        config = self.load(text)
        self.assertEqual(list(config.users), ["esme1", "zed", "alpha", "mid"])

    def test_config_is_frozen_and_hides_passwords(self):
        config = self.load(MINIMAL.replace('system_id = "router"',
                                           'system_id = "router"\npassword = "s3cret"'))
        self.assertRaises(dataclasses.FrozenInstanceError, setattr, config, "path", "x")
        self.assertRaises(dataclasses.FrozenInstanceError, setattr,
                          config.connectors["smsc"], "port", 1)
        self.assertNotIn("s3cret", repr(config))
        self.assertNotIn(HASH, repr(config))

    def test_integers_are_accepted_where_floats_are(self):
        config = self.load(MINIMAL + "throughput = 12.5\n")
        self.assertEqual(config.users["esme1"].throughput, 12.5)


class ErrorTests(ConfigTestCase):
    def test_wrong_type(self):
        self.assertError(MINIMAL + 'max_binds = "3"\n', "max_binds", "users.esme1.max_binds",
                         "must be an integer, not a string ('3')")

    def test_boolean_is_not_an_integer(self):
        text = MINIMAL.replace("port = 2776", "port = true")
        self.assertError(text, "port = true", "connectors.smsc.port", "must be an integer")

    def test_out_of_range(self):
        self.assertError("[smpp]\nwindow = 0\n" + MINIMAL, "window", "smpp.window",
                         "must be between 1 and 1000, not 0")
        text = MINIMAL.replace("port = 2776", "port = 70000")
        self.assertError(text, "70000", "connectors.smsc.port", "between 1 and 65535")

    def test_log_format_and_message_text(self):
        config = self.load('[log]\nformat = "json"\nmessage_text = true\n' + MINIMAL)
        self.assertEqual((config.log.format, config.log.message_text), ("json", True))
        self.assertEqual((self.load(MINIMAL).log.format, self.load(MINIMAL).log.message_text),
                         ("text", False))
        self.assertError('[log]\nformat = "jsn"\n' + MINIMAL, "jsn", "log.format",
                         "did you mean 'json'?")

    def test_negative_throughput(self):
        self.assertError(MINIMAL + "throughput = -1.5\n", "throughput",
                         "users.esme1.throughput", "must be at least 0")

    def test_unknown_key_with_suggestion(self):
        self.assertError(MINIMAL + "max_bind = 3\n", "max_bind", "users.esme1.max_bind",
                         "unknown key 'max_bind'; did you mean 'max_binds'?")

    def test_unknown_table_with_suggestion(self):
        self.assertError(MINIMAL + '[user.esme2]\npassword = "x"\n', "[user.", "user",
                         "did you mean 'users'?")

    def test_unknown_key_without_a_close_match_lists_the_known_ones(self):
        self.assertError("[redis]\nzzz = 1\n" + MINIMAL, "zzz", "redis.zzz",
                         "unknown key 'zzz' (known keys: url, max_queue, dlr_retention, "
                         "claim_idle, spool_max, ledger_max, sentinels, master, "
                         "sentinel_password, wait_replicas, wait_timeout)")

    def test_unknown_key_in_listener_tls(self):
        text = MINIMAL.replace('endpoint = "tcp:2775"',
                               'endpoint = "tcp:2775"\ntls.certfile = "x.pem"')
        self.assertError(text, "certfile", "listeners.smpp.tls.certfile",
                         "did you mean 'certificate'?")

    def test_missing_required_key_points_at_its_table(self):
        text = MINIMAL.replace('host = "10.0.0.1"\n', "")
        self.assertError(text, "[connectors.smsc]", "connectors.smsc.host",
                         "required key is missing")

    def test_at_least_one_user(self):
        text = MINIMAL[:MINIMAL.index("[users.esme1]")]
        self.assertError(text, None, "users", "at least one user is required")
        self.assertError(text + "[users]\n", "[users]", "users", "at least one user")

    def test_plain_text_password_says_what_to_run(self):
        text = MINIMAL.replace(HASH, "hunter2")
        error = self.assertError(text, "hunter2", "users.esme1.password",
                                 "run `smpprouter passwd`")
        self.assertNotIn("hunter2", str(error))

    def test_malformed_hash_is_refused(self):
        text = MINIMAL.replace(HASH, HASH.replace("16384", "1000"))
        self.assertError(text, "scrypt", "users.esme1.password", "smpprouter passwd")

    def test_bad_names(self):
        text = MINIMAL + '[users.abcdefghijklmnop]\npassword = "%s"\n' % HASH
        self.assertError(text, "abcdefghijklmnop", "users.abcdefghijklmnop",
                         "at most 15 characters")
        text = MINIMAL.replace("[connectors.smsc]", '[connectors."sm sc"]')
        self.assertError(text, "sm sc", "connectors.sm sc", "connector names may only use")

    def test_user_entry_must_be_a_table(self):
        text = MINIMAL + "[users]\nesme2 = 1\n"
        self.assertError(text, "esme2 = 1", "users.esme2", "must be a table")

    def test_group_entries_are_strings(self):
        self.assertError(MINIMAL + 'groups = ["gold", 7]\n', "groups",
                         "users.esme1.groups[1]", "must be a non-empty string, not an integer")

    def test_choices_suggest_the_close_one(self):
        self.assertError(MINIMAL.replace('system_id = "router"',
                                         'system_id = "router"\nresp_id = "hexa"'),
                         "hexa", "connectors.smsc.resp_id",
                         "must be one of 'as-is', 'hex', 'decimal', not 'hexa'; "
                         "did you mean 'hex'?")

    def test_interface_version(self):
        self.assertError(MINIMAL.replace("port = 2776", "port = 2776\ninterface_version = 0x50"),
                         "interface_version", "connectors.smsc.interface_version",
                         "must be 0x33 or 0x34, not 0x50")

    def test_connector_text_limits(self):
        text = MINIMAL.replace('system_id = "router"', 'system_id = "router"\n'
                               'password = "123456789"')
        self.assertError(text, "123456789", "connectors.smsc.password",
                         "at most 8 characters, not 9")
        text = MINIMAL.replace('system_id = "router"', 'system_id = "rout\u00e9r"')
        self.assertError(text, "system_id", "connectors.smsc.system_id", "printable ASCII")

    def test_reconnect_bounds(self):
        text = MINIMAL.replace("port = 2776", "port = 2776\nreconnect_min = 5\n"
                               "reconnect_max = 2")
        self.assertError(text, "reconnect_max", "connectors.smsc.reconnect_max",
                         "must be at least reconnect_min (5.0)")
        text = MINIMAL.replace("port = 2776", "port = 2776\nreconnect_min = 0")
        self.assertError(text, "reconnect_min", "connectors.smsc.reconnect_min",
                         "greater than 0")

    def test_hold_unbound(self):
        config = load_config(self.write(MINIMAL.replace("port = 2776",
                                                        "port = 2776\nhold_unbound = 0")))
        self.assertEqual(config.connectors["smsc"].hold_unbound, 0.0)   # fail at once
        for value in ("-1", "61"):
            self.assertError(MINIMAL.replace("port = 2776", "port = 2776\nhold_unbound = "
                                             + value),
                             "hold_unbound", "connectors.smsc.hold_unbound",
                             "must be between 0 and 60, not " + value)
        self.assertError(MINIMAL.replace("port = 2776", 'port = 2776\nhold_unbound = "5"'),
                         "hold_unbound", "connectors.smsc.hold_unbound", "must be a number")

    def test_bad_endpoint_strings(self):
        for endpoint, fragment in (("ssl:2775", "must start with tcp: or unix:"),
                                   ("tcp:abc", "is not a valid endpoint string"),
                                   ("tcp:2775:colour=red", "unknown or repeated option"),
                                   ("tcp:2775:interface=::1", "'\\:'"),
                                   ("tcp:70000", "port must be between 0 and 65535"),
                                   ("unix:", "needs a socket path")):
            text = MINIMAL.replace('"tcp:2775"', '"%s"' % endpoint)
            self.assertError(text, "endpoint", "listeners.smpp.endpoint", fragment)

    def test_good_endpoint_strings(self):
        for endpoint in ("tcp:0", r"tcp:2775:interface=\\:\\:1", "unix:/tmp/smpp.sock",
                         "tcp:port=2775:backlog=100"):
            config = self.load(MINIMAL.replace('"tcp:2775"', '"%s"' % endpoint))
            self.assertEqual(config.listeners["smpp"].endpoint, endpoint.replace("\\\\", "\\"))

    def test_missing_tls_file(self):
        text = MINIMAL.replace('endpoint = "tcp:2775"',
                               'endpoint = "tcp:2775"\ntls.certificate = "tls/server.pem"')
        error = self.assertError(text, "tls.certificate", "listeners.smpp.tls.certificate",
                                 "file not found: ")
        self.assertIn(os.path.join(os.path.dirname(error.path), "tls", "server.pem"),
                      error.message)

    def test_missing_tls_file_in_a_tls_table(self):
        text = MINIMAL + ('[listeners.smpp.tls]\ncertificate = "cert.pem"\n'
                          'private_key = "key.pem"\n')
        path = self.write(text)
        open(os.path.join(os.path.dirname(path), "cert.pem"), "w").close()
        error = self.assertRaises(ConfigError, load_config, path)
        self.assertEqual((error.line, error.key),
                         (len(text.splitlines()), "listeners.smpp.tls.private_key"))

    def test_listener_tls(self):
        text = MINIMAL.replace('endpoint = "tcp:2775"',
                               'endpoint = "tcp:2775"\ntls.certificate = "server.pem"\n'
                               'tls.min_version = "1.3"\ntls.ca = "ca.pem"')
        path = self.write(text)
        base = os.path.dirname(os.path.abspath(path))
        for name in ("server.pem", "ca.pem"):
            open(os.path.join(base, name), "w").close()
        tls = load_config(path).listeners["smpp"].tls
        pem = os.path.join(base, "server.pem")
        self.assertEqual((tls.certificate, tls.private_key, tls.min_version, tls.ca),
                         (pem, pem, "1.3", os.path.join(base, "ca.pem")))

    def test_connector_tls_ca_must_exist(self):
        text = MINIMAL.replace("port = 2776", 'port = 2776\ntls = true\ntls_ca = "ca.pem"')
        self.assertError(text, "tls_ca", "connectors.smsc.tls_ca", "file not found")

    def test_bad_toml_syntax_names_the_line(self):
        text = MINIMAL.replace("port = 2776", "port = ")
        path = self.write(text)
        error = self.assertRaises(ConfigError, load_config, path)
        self.assertEqual(error.line, 6)
        self.assertTrue(str(error).startswith("%s:6: invalid TOML" % path), str(error))

    def test_missing_file(self):
        error = self.assertRaises(ConfigError, load_config, "/nonexistent/smpprouter.toml")
        self.assertIn("/nonexistent/smpprouter.toml: cannot read", str(error))


class RedisTests(ConfigTestCase):
    def redis(self, url):
        return self.load('[redis]\nurl = "%s"\n' % url + MINIMAL).redis

    def test_redis_url(self):
        redis = self.redis("redis://app:p%40ss@redis.example:6380/2")
        self.assertFalse(redis.embedded)
        self.assertEqual((redis.host, redis.port, redis.unix_socket, redis.db, redis.username,
                          redis.password), ("redis.example", 6380, None, 2, "app", "p@ss"))

    def test_redis_url_defaults(self):
        redis = self.redis("redis://127.0.0.1")
        self.assertEqual((redis.host, redis.port, redis.db, redis.username, redis.password),
                         ("127.0.0.1", 6379, 0, None, None))
        redis = self.redis("redis://:pw@localhost/")
        self.assertEqual((redis.port, redis.db, redis.username, redis.password),
                         (6379, 0, None, "pw"))

    def test_unix_url(self):
        redis = self.redis("unix:///var/run/redis.sock?db=3&password=pw")
        self.assertEqual((redis.host, redis.port, redis.unix_socket, redis.db, redis.password),
                         (None, None, "/var/run/redis.sock", 3, "pw"))

    def test_cluster_url(self):
        redis = self.redis("redis+cluster://app:p%40ss@10.0.0.1:7000, 10.0.0.2:7001,[::1]:7002")
        self.assertEqual(redis.cluster, (("10.0.0.1", 7000), ("10.0.0.2", 7001), ("::1", 7002)))
        self.assertEqual((redis.host, redis.port, redis.db, redis.username, redis.password),
                         ("10.0.0.1", 7000, 0, "app", "p@ss"))
        redis = self.redis("redis+cluster://:pw@h:1")
        self.assertEqual((redis.cluster, redis.username, redis.password), ((("h", 1),), None, "pw"))
        self.assertEqual(self.redis("redis://h").cluster, ())

    def test_bad_cluster_urls(self):
        for url, fragment in (("redis+cluster://h", "names the node 'h', not host:port"),
                              ("redis+cluster://h:1,", "names the node '', not host:port"),
                              ("redis+cluster://h:70000", "not host:port"),
                              ("redis+cluster://:1", "not host:port"),
                              ("redis+cluster://h:1/0", "a cluster has database 0 only")):
            self.assertError('[redis]\nurl = "%s"\n' % url + MINIMAL, "url", "redis.url",
                             fragment)

    def test_sentinels(self):
        redis = self.load('[redis]\nurl = "redis://:data%40pw@primary/2"\n'
                          'sentinels = ["10.0.0.1:26379", "[::1]:26380"]\nmaster = "mymaster"\n'
                          'sentinel_password = "spw"\nwait_replicas = 1\nwait_timeout = 0.25\n'
                          + MINIMAL).redis
        self.assertFalse(redis.embedded)
        self.assertEqual((redis.sentinels, redis.master, redis.sentinel_password, redis.host,
                          redis.port, redis.db, redis.password, redis.wait_replicas,
                          redis.wait_timeout),
                         ((("10.0.0.1", 26379), ("::1", 26380)), "mymaster", "spw", None, None,
                          2, "data@pw", 1, 0.25))

    def test_sentinels_without_a_url(self):
        redis = self.load('[redis]\nsentinels = ["h:26379"]\nmaster = "m"\n' + MINIMAL).redis
        self.assertEqual((redis.embedded, redis.db, redis.password, redis.wait_replicas),
                         (False, 0, None, 0))

    def test_bad_sentinel_settings(self):
        for text, needle, key, fragment in (
                ('sentinels = ["h"]\nmaster = "m"', "sentinels", "redis.sentinels[0]",
                 "must be host:port (port 1-65535), not 'h'"),
                ('sentinels = ["h:1", "h:99999"]\nmaster = "m"', "sentinels",
                 "redis.sentinels[1]", "not 'h:99999'"),
                ('sentinels = [":26379"]\nmaster = "m"', "sentinels", "redis.sentinels[0]",
                 "must be host:port"),
                ('sentinels = "h:1"\nmaster = "m"', "sentinels", "redis.sentinels",
                 "must be an array of strings"),
                ('sentinels = ["h:1"]', "sentinels", "redis.sentinels", "needs master"),
                ('master = "m"', "master", "redis.master", "only means something with sentinels"),
                ('sentinel_password = "x"', "sentinel_password", "redis.sentinel_password",
                 "only means something with sentinels"),
                ('url = "unix:///r.sock"\nsentinels = ["h:1"]\nmaster = "m"', "url", "redis.url",
                 "must be a redis:// url"),
                ('wait_replicas = -1', "wait_replicas", "redis.wait_replicas", "between 0 and 100"),
                ('wait_replicas = true', "wait_replicas", "redis.wait_replicas",
                 "must be an integer"),
                ('wait_timeout = 5', "wait_timeout", "redis.wait_timeout", "between 0.001 and 4")):
            self.assertError("[redis]\n%s\n" % text + MINIMAL, needle, key, fragment)

    def test_a_cluster_takes_no_sentinels_and_no_wait(self):
        url = 'url = "redis+cluster://h:1,h:2"\n'
        for text, key in (('sentinels = ["h:26379"]\nmaster = "m"', "sentinels"),
                          ('wait_replicas = 1', "wait_replicas")):
            self.assertError("[redis]\n" + url + text + "\n" + MINIMAL, key, "redis." + key,
                             "does not go with a redis+cluster:// url")

    def test_bad_redis_urls(self):
        for url, fragment in (("http://127.0.0.1", "must start with redis://, unix:// or"),
                              ("rediss://h", "(rediss://) is not supported"),
                              ("redis://h:port/0", "is not a valid url"),
                              ("redis://h/zero", "database 'zero' is not a number"),
                              ("redis:///0", "has no host"),
                              ("redis://h/0?timeout=1", "query parameters"),
                              ("unix://relative.sock", "absolute socket path"),
                              ("unix:///r.sock?dbx=1", "only the query parameters")):
            self.assertError('[redis]\nurl = "%s"\n' % url + MINIMAL, "url", "redis.url",
                             fragment)


class OverrideTests(ConfigTestCase):
    TWO_LISTENERS = MINIMAL + '[listeners.second]\nendpoint = "tcp:2780"\n'

    def test_overrides_are_applied(self):
        config = self.load("[redis]\nurl = \"redis://file:6379/0\"\n" + self.TWO_LISTENERS,
                           {"redis_url": "redis://other:7000/1",
                            "smpp_listen": "tcp:3000:interface=0.0.0.0"})
        self.assertEqual((config.redis.url, config.redis.host, config.redis.port,
                          config.redis.db), ("redis://other:7000/1", "other", 7000, 1))
        self.assertEqual([l.endpoint for l in config.listeners.values()],
                         ["tcp:3000:interface=0.0.0.0", "tcp:2780"])

    def test_redis_override_without_a_redis_table(self):
        config = self.load(MINIMAL, {"redis_url": "redis://other"})
        self.assertEqual((config.redis.embedded, config.redis.host), (False, "other"))

    def test_empty_overrides_keep_the_file(self):
        config = self.load(self.TWO_LISTENERS, {"redis_url": "", "smpp_listen": None})
        self.assertTrue(config.redis.embedded)
        self.assertEqual(config.listeners["smpp"].endpoint, "tcp:2775")

    def test_bad_override_is_blamed_on_the_override(self):
        self.assertError(MINIMAL, "endpoint", "listeners.smpp.endpoint",
                         "from the smpp_listen override", overrides={"smpp_listen": "tcp:x"})
        self.assertError(MINIMAL, None, "redis.url", "from the redis_url override",
                         overrides={"redis_url": "http://x"})

    def test_unknown_override(self):
        self.assertRaises(ValueError, self.load, MINIMAL, {"redis": "redis://x"})



class UserRetentionTests(ConfigTestCase):
    def test_user_retention_overrides_and_defaults_to_zero(self):
        config = self.load(MINIMAL + "dlr_retention = 600\n[users.esme2]\npassword = \"%s\"\n"
                           % HASH)
        self.assertEqual(config.users["esme1"].dlr_retention, 600)
        self.assertEqual(config.users["esme2"].dlr_retention, 0)

    def test_negative_retention_is_refused_at_its_line(self):
        self.assertError(MINIMAL + "dlr_retention = -1\n", "dlr_retention",
                         "users.esme1.dlr_retention")


class V33ConnectorTests(ConfigTestCase):
    def test_v33_connector_cannot_be_a_transceiver(self):
        self.assertError(MINIMAL.replace('system_id = "router"',
                                         'system_id = "router"\ninterface_version = 0x33'),
                         "interface_version", "connectors.smsc.interface_version",
                         "transmitter+receiver")


class UserWindowPolicyTests(ConfigTestCase):
    def test_policies_and_store_and_forward(self):
        config = self.load(MINIMAL + 'window_policy = "refuse"\nstore_and_forward = true\n'
                           '[users.esme2]\npassword = "%s"\nwindow_policy = "pause"\n' % HASH)
        esme1, esme2 = config.users["esme1"], config.users["esme2"]
        self.assertEqual((esme1.window_policy, esme1.store_and_forward), ("refuse", True))
        self.assertEqual((esme2.window_policy, esme2.store_and_forward), ("pause", False))

    def test_unknown_policy_suggests_the_close_one(self):
        self.assertError(MINIMAL + 'window_policy = "refused"\n', "window_policy",
                         "users.esme1.window_policy",
                         "must be one of 'pause', 'refuse', not 'refused'; "
                         "did you mean 'refuse'?")

    def test_store_and_forward_is_a_boolean(self):
        self.assertError(MINIMAL + 'store_and_forward = "yes"\n', "store_and_forward",
                         "users.esme1.store_and_forward",
                         "must be true or false, not a string ('yes')")


class OutboundTests(ConfigTestCase):
    def outbound(self, text):
        return self.load("[outbound]\n" + text + MINIMAL).outbound

    def test_values(self):
        outbound = self.outbound("max_queue = 5\ndefault_validity = 60\nmax_validity = 60\n"
                                 "retry_min = 0.5\nretry_max = 2\nschedule_interval = 0.25\n"
                                 "batch = 10000\n")
        self.assertEqual(outbound, OutboundConfig(5, 60, 60, 0.5, 2.0, 0.25, 10000))
        self.assertIsInstance(outbound.retry_max, float)
        self.assertRaises(dataclasses.FrozenInstanceError, setattr, outbound, "batch", 1)

    def test_empty_table_gets_the_defaults(self):
        self.assertEqual(self.outbound(""), OutboundConfig())

    def test_out_of_range(self):
        for text, key, fragment in (
                ("max_queue = 0", "max_queue", "must be at least 1, not 0"),
                ("default_validity = 0", "default_validity", "must be at least 1, not 0"),
                ("max_validity = -5", "max_validity", "must be at least 1, not -5"),
                ("batch = 0", "batch", "must be between 1 and 10000, not 0"),
                ("batch = 10001", "batch", "must be between 1 and 10000, not 10001"),
                ("retry_min = 0", "retry_min", "must be greater than 0"),
                ("retry_max = -1", "retry_max", "must be at least 0"),
                ("schedule_interval = 0", "schedule_interval", "must be greater than 0"),
                ("schedule_interval = nan", "schedule_interval", "must be a finite number")):
            self.assertError("[outbound]\n%s\n" % text + MINIMAL, text, "outbound." + key,
                             fragment)

    def test_wrong_types(self):
        self.assertError("[outbound]\nbatch = 1.5\n" + MINIMAL, "batch", "outbound.batch",
                         "must be an integer, not a float (1.5)")
        self.assertError('[outbound]\nretry_min = "1s"\n' + MINIMAL, "retry_min",
                         "outbound.retry_min", "must be a number, not a string ('1s')")

    def test_max_validity_below_default_validity(self):
        self.assertError("[outbound]\ndefault_validity = 3600\nmax_validity = 600\n" + MINIMAL,
                         "max_validity", "outbound.max_validity",
                         "must be at least default_validity (3600), not 600")

    def test_default_validity_beyond_the_default_maximum_blames_itself(self):
        self.assertError("[outbound]\ndefault_validity = 700000\n" + MINIMAL,
                         "default_validity", "outbound.default_validity",
                         "must be at most max_validity (604800), not 700000")

    def test_retry_max_below_retry_min(self):
        self.assertError("[outbound]\nretry_min = 5\nretry_max = 2\n" + MINIMAL, "retry_max",
                         "outbound.retry_max", "must be at least retry_min (5.0), not 2.0")
        # retry_max alone, below the default retry_min.
        self.assertError("[outbound]\nretry_max = 0.5\n" + MINIMAL, "retry_max",
                         "outbound.retry_max", "must be at least retry_min (1.0)")

    def test_unknown_key_and_table_suggest_the_close_one(self):
        self.assertError("[outbound]\nretry_mx = 5\n" + MINIMAL, "retry_mx",
                         "outbound.retry_mx", "did you mean 'retry_max'?")
        self.assertError("[outbond]\nbatch = 5\n" + MINIMAL, "[outbond]", "outbond",
                         "did you mean 'outbound'?")


class HttpTests(ConfigTestCase):
    KEY = "sha256$" + "ab" * 32

    def test_defaults_and_listener_protocols(self):
        config = self.load(MINIMAL + '[listeners.http]\nendpoint = "tcp:2780"\n'
                           '[listeners.api2]\nprotocol = "http"\nendpoint = "tcp:2781"\n')
        self.assertEqual([(l.name, l.protocol) for l in config.listeners.values()],
                         [("smpp", "smpp"), ("http", "http"), ("api2", "http")])
        self.assertEqual(config.http.max_destinations, 1000)
        self.assertEqual(config.http.webhook_retention, 259200)
        self.assertIsNone(config.http.templates)
        user = config.users["esme1"]
        self.assertEqual((user.service_key, user.dlr_url, user.mo_url), ("", "", ""))

    def test_http_override_replaces_the_first_http_listener_only(self):
        config = self.load(MINIMAL + '[listeners.http]\nendpoint = "tcp:2780"\n',
                           {"http_listen": "tcp:0", "smpp_listen": "tcp:1"})
        self.assertEqual([l.endpoint for l in config.listeners.values()], ["tcp:1", "tcp:0"])

    def test_user_http_keys(self):
        config = self.load(MINIMAL + 'service_key = "%s"\ndlr_url = "https://e.com/d"\n'
                           'mo_url = "http://e.com/m"\nwebhook_secret = "s"\n'
                           'webhook_retention = 60\n' % self.KEY)
        user = config.users["esme1"]
        self.assertEqual((user.service_key, user.dlr_url, user.mo_url, user.webhook_secret,
                          user.webhook_retention),
                         (self.KEY, "https://e.com/d", "http://e.com/m", "s", 60))

    def test_a_plain_key_is_refused_with_the_way_to_make_one(self):
        self.assertError(MINIMAL + 'service_key = "key-esme1"\n', "service_key",
                         "users.esme1.service_key", "smpprouter passwd --key")

    def test_two_users_with_one_key(self):
        text = (MINIMAL + 'service_key = "%s"\n[users.esme2]\npassword = "%s"\n'
                'service_key = "%s"\n' % (self.KEY, HASH, self.KEY))
        self.assertError(text, "[users.esme2]", "users.esme2", "same service_key")

    def test_bad_urls_and_networks(self):
        self.assertError(MINIMAL + 'dlr_url = "ftp://x/"\n', "dlr_url", "users.esme1.dlr_url",
                         "http:// or https://")
        self.assertError('[http]\nwebhook_allow = ["10.0.0.0/8", "nonsense"]\n' + MINIMAL,
                         "webhook_allow", "http.webhook_allow[1]", "CIDR")
        self.assertError('[http]\nmax_destinations = 0\n' + MINIMAL, "max_destinations",
                         "http.max_destinations")
        self.assertError('[http]\ntemplates = "missing.toml"\n' + MINIMAL, "templates",
                         "http.templates", "file not found")

    def test_smart_link_keys(self):
        links = os.path.abspath(self.write('[links.5]\nurl = "https://e.com/"\n', "links.toml"))
        config = self.load('[http]\nlinks = "%s"\nlink_base = "https://s.e.com"\n' % links
                           + MINIMAL + 'click_url = "https://e.com/c"\n')
        self.assertEqual((config.http.links, config.http.link_base), (links, "https://s.e.com/"))
        self.assertEqual(config.users["esme1"].click_url, "https://e.com/c")
        self.assertIsNone(self.load(MINIMAL).http.links)
        self.assertError('[http]\nlinks = "%s"\n' % links + MINIMAL, "links", "http.links",
                         "needs link_base")
        for bad in ("ftp://s.e.com/", "https:///x", "https://s.e.com/?a=1", "https://s.e.com/ x"):
            self.assertError('[http]\nlink_base = "%s"\n' % bad + MINIMAL, "link_base",
                             "http.link_base", "http:// or https://")
        self.assertError(MINIMAL + 'click_url = "mailto:x"\n', "click_url",
                         "users.esme1.click_url", "http:// or https://")


class HardeningConfigTests(ConfigTestCase):
    """[security], allow_from, listener connection limits, session_init_timeout."""

    def test_defaults_protect_a_public_listener(self):
        config = self.load(MINIMAL)
        self.assertEqual((config.security.bind_failures, config.security.bind_failure_window,
                          config.security.bind_lockout), (5, 60, 300))
        listener = config.listeners["smpp"]
        self.assertEqual((listener.max_connections, listener.max_connections_per_ip),
                         (10000, 100))
        self.assertFalse(listener.loopback_only)
        self.assertEqual(config.users["esme1"].allow_from, ())

    def test_allow_from_is_parsed_and_a_bad_network_named(self):
        import ipaddress
        config = self.load(MINIMAL + 'allow_from = ["10.0.0.0/8", "2001:db8::/32"]\n')
        self.assertEqual(config.users["esme1"].allow_from,
                         (ipaddress.ip_network("10.0.0.0/8"),
                          ipaddress.ip_network("2001:db8::/32")))
        self.assertError(MINIMAL + 'allow_from = ["10.0.0.0/33"]\n', "allow_from",
                         "users.esme1.allow_from[0]", "is not a network")

    def test_session_init_timeout_zero_is_refused_on_a_public_listener(self):
        text = "[smpp]\nsession_init_timeout = 0\n" + MINIMAL
        self.assertError(text, "session_init_timeout", "smpp.session_init_timeout",
                         "listener 'smpp'", "tcp:2775")
        local = text.replace('"tcp:2775"', '"tcp:2775:interface=127.0.0.1"')
        self.assertEqual(self.load(local).smpp.session_init_timeout, 0)
        self.assertTrue(self.load(local).listeners["smpp"].loopback_only)
        v6 = text.replace('"tcp:2775"', '"tcp:2775:interface=\\\\:\\\\:1"')
        self.assertTrue(self.load(v6).listeners["smpp"].loopback_only)

    def test_security_ranges(self):
        self.assertError("[security]\nbind_lockout = 0\n" + MINIMAL, "bind_lockout",
                         "security.bind_lockout", "between 1 and 86400")
        config = self.load("[security]\nbind_failures = 0\n" + MINIMAL)
        self.assertEqual(config.security.bind_failures, 0)

    def test_connection_limits_and_tls_versions(self):
        text = MINIMAL.replace('endpoint = "tcp:2775"', 'endpoint = "tcp:2775"\n'
                               "max_connections = 0\nmax_connections_per_ip = 5")
        listener = self.load(text).listeners["smpp"]
        self.assertEqual((listener.max_connections, listener.max_connections_per_ip), (0, 5))
        self.assertError(MINIMAL.replace("port = 2776", 'port = 2776\ntls_min_version = "1.4"'),
                         "tls_min_version", "connectors.smsc.tls_min_version",
                         "'1.0', '1.1', '1.2', '1.3'")
class BillingTests(ConfigTestCase):
    """billing, low_balance, sender_ids and tlv_defaults of a user."""

    def user(self, lines):
        return self.load(MINIMAL.replace('[users.esme1]\n', '[users.esme1]\n' + lines)
                         ).users["esme1"]

    def test_defaults(self):
        user = self.user("")
        self.assertEqual((user.billing, user.prepaid, user.low_balance, user.sender_ids,
                          user.tlv_defaults), ("postpaid", False, 0, (), ()))
        self.assertEqual(self.load(MINIMAL).redis.ledger_max, 1_000_000)

    def test_prepaid(self):
        user = self.user('billing = "prepaid"\nlow_balance = 500\n'
                         'sender_ids = ["BRAND", "4479*", "BRAND"]\n'
                         'tlv_defaults = { template_id = "T1", pe_id = "P1" }\n')
        self.assertTrue(user.prepaid)
        self.assertEqual(user.low_balance, 500)
        self.assertEqual(user.sender_ids, ("BRAND", "4479*"))
        self.assertEqual(user.tlv_defaults, (("pe_id", "P1"), ("template_id", "T1")))

    def test_errors(self):
        for lines, key, words in (
                ('billing = "prepay"\n', "users.esme1.billing", "did you mean 'prepaid'"),
                ("low_balance = 5\n", "users.esme1.low_balance", "prepaid users"),
                ('billing = "prepaid"\nlow_balance = 1.5\n', "users.esme1.low_balance",
                 "integer"),
                ('sender_ids = "BRAND"\n', "users.esme1.sender_ids", "array"),
                ('sender_ids = ["%s"]\n' % ("x" * 21), "users.esme1.sender_ids[0]", "20"),
                ('tlv_defaults = { pe-id = "1" }\n', "users.esme1.tlv_defaults.pe-id",
                 "did you mean 'pe_id'"),
                ('tlv_defaults = { pe_id = 1 }\n', "users.esme1.tlv_defaults.pe_id", "string")):
            path = self.write(MINIMAL.replace('[users.esme1]\n', '[users.esme1]\n' + lines))
            e = self.assertRaises(ConfigError, load_config, path)
            self.assertEqual(e.key, key, str(e))
            self.assertIn(words, e.message)
            self.assertIsNotNone(e.line, str(e))


class AllottedTemplateTests(ConfigTestCase):
    """A user's `templates`: the REST templates it may name (seed 002's 453)."""

    def config(self, lines, http=True):
        path = self.write(MINIMAL.replace('[users.esme1]\n', '[users.esme1]\n' + lines))
        with open(os.path.join(os.path.dirname(path), "templates.toml"), "w") as f:
            f.write('[templates.otp]\ntext = "code $(c)"\n[templates.promo]\ntext = "x"\n')
        if http:
            with open(path, "a") as f:
                f.write('\n[http]\ntemplates = "templates.toml"\n')
        return path

    def test_names_known_and_the_default(self):
        config = load_config(self.config('templates = ["otp"]\n'))
        self.assertEqual(config.users["esme1"].templates, frozenset({"otp"}))
        self.assertIsNone(load_config(self.config("")).users["esme1"].templates)

    def test_an_unknown_name_and_no_templates_file(self):
        e = self.assertRaises(ConfigError, load_config, self.config('templates = ["otpp"]\n'))
        self.assertEqual(e.key, "users.esme1.templates[0]")
        self.assertIn("did you mean 'otp'", e.message)
        self.assertIsNotNone(e.line)
        e = self.assertRaises(ConfigError, load_config,
                              self.config('templates = ["otp"]\n', http=False))
        self.assertEqual(e.key, "users.esme1.templates")
        self.assertIn("[http] templates", e.message)


class AccountPolicyTests(ConfigTestCase):
    """The account policy keys of issue 13 (policy/accounts.py, core/admission.py)."""

    def test_defaults_leave_every_account_as_it_was(self):
        user = self.load(MINIMAL).users["esme1"]
        self.assertEqual((user.max_receivers, user.bind_scope, user.system_type, user.expires),
                         (0, "router", "", 0.0))
        self.assertEqual(user.doors, frozenset(("smpp", "rest", "websms")))
        self.assertEqual(user.operations, frozenset(("submit", "query", "cancel", "replace")))

    def test_values(self):
        user = self.load(MINIMAL + 'max_receivers = 1\nbind_scope = "process"\n'
                         'system_type = "smpp"\nexpires = 2027-01-01T01:00:00+01:00\n'
                         'doors = ["rest"]\noperations = ["submit", "query"]\n').users["esme1"]
        self.assertEqual((user.max_receivers, user.bind_scope, user.system_type, user.expires),
                         (1, "process", "smpp", 1798761600.0))
        self.assertEqual((user.doors, user.operations),
                         (frozenset(["rest"]), frozenset(["submit", "query"])))

    def test_errors_name_the_line(self):
        k = "users.esme1."
        self.assertError(MINIMAL + "max_receivers = 4\n", "max_receivers", k + "max_receivers",
                         "must be at most max_binds (3), not 4")
        self.assertError(MINIMAL + 'bind_scope = "server"\n', "bind_scope", k + "bind_scope",
                         "must be one of 'router', 'process'")
        self.assertError(MINIMAL + 'system_type = "0123456789abc"\n', "system_type",
                         k + "system_type", "at most 12 characters")
        self.assertError(MINIMAL + 'expires = "2027-01-01"\n', "expires", k + "expires",
                         "must be a date-time with its offset")
        self.assertError(MINIMAL + 'expires = 2027-01-01\n', "expires", k + "expires",
                         "must be a date-time with its offset")
        self.assertError(MINIMAL + 'expires = 2027-01-01T00:00:00\n', "expires", k + "expires",
                         "must say its offset")
        self.assertError(MINIMAL + 'doors = ["smpp", "http"]\n', "doors", k + "doors[1]",
                         "must be one of 'smpp', 'rest', 'websms', not 'http'")
        self.assertError(MINIMAL + 'operations = ["sumbit"]\n', "operations",
                         k + "operations[0]", "did you mean 'submit'?")


class ReceiptProfileConfigTests(ConfigTestCase):
    """A user's receipt_dates, receipt_text, receipt_codes; a connector's receipt_timeout."""

    def test_none_is_no_profile_and_each_setting_is_parsed(self):
        self.assertIsNone(self.load(MINIMAL).users["esme1"].receipt_profile)
        path = os.path.abspath(self.write(
            "[err]\n\"001\" = { stat = \"UNDELIV\", err = 11 }\n", "m.toml"))
        text = (MINIMAL + 'receipt_dates = "seconds"\nreceipt_text = "text"\n'
                'receipt_codes = "%s"\n' % path)
        profile = self.load(text).users["esme1"].receipt_profile
        self.assertEqual((profile.date_length, profile.text_key, profile.codes),
                         (12, b"text", {11: b"001"}))

    def test_bad_values_name_their_line(self):
        k = "users.esme1."
        self.assertError(MINIMAL + 'receipt_dates = "hours"\n', "receipt_dates",
                         k + "receipt_dates", "must be one of")
        self.assertError(MINIMAL + 'receipt_text = "TEXT"\n', "receipt_text",
                         k + "receipt_text", "must be one of")
        self.assertError(MINIMAL + 'receipt_codes = "nope.toml"\n', "receipt_codes",
                         k + "receipt_codes")

    def test_receipt_timeout_defaults_below_dlr_expiry(self):
        c = SplittingConfigTests.load(self, "")
        self.assertEqual(c.receipt_timeout, 43200)
        c = SplittingConfigTests.load(self, "dlr_expiry = 600")
        self.assertEqual(c.receipt_timeout, 300)
        e = self.assertRaises(ConfigError, SplittingConfigTests.load, self,
                              "dlr_expiry = 600\nreceipt_timeout = 600")
        self.assertIn("connectors.smsc.receipt_timeout: must be less than dlr_expiry", str(e))


class SplittingConfigTests(SynchronousTestCase):
    """A connector's max_octets, message_payload, split and receipt_map."""

    def load(self, connector_lines, files=None):
        directory = self.mktemp()
        shutil.copytree(ETC, directory)
        for name, text in (files or {}).items():
            with open(os.path.join(directory, name), "w") as f:
                f.write(text)
        with open(SHIPPED) as f:
            shipped = f.read()
        text = shipped.replace("[connectors.smsc]          # an upstream SMSC",
                               "[connectors.smsc]\n" + connector_lines, 1)
        path = os.path.join(directory, "smpprouter.toml")
        with open(path, "w") as f:
            f.write(text)
        return load_config(path).connectors["smsc"]

    def test_defaults_split_by_udh8(self):
        c = self.load("")
        self.assertEqual((c.max_octets, c.message_payload, c.split, c.receipt_map),
                         (140, False, "udh8", ()))

    def test_bad_values_name_file_line_and_key(self):
        for lines, key in (("max_octets = 141", "max_octets"), ("split = \"udh7\"", "split"),
                           ("message_payload = 1", "message_payload"),
                           ("receipt_map = \"nope.toml\"", "receipt_map")):
            e = self.assertRaises(ConfigError, self.load, lines)
            self.assertIn("connectors.smsc." + key, str(e))
            with open(SHIPPED) as f:
                line = f.read().splitlines().index(
                    "[connectors.smsc]          # an upstream SMSC") + 2
            self.assertIn(":%d:" % line, str(e))   # the line after the table's own

    def test_a_receipt_map_with_a_bad_entry_names_its_own_line(self):
        e = self.assertRaises(ConfigError, self.load, "receipt_map = \"m.toml\"",
                              {"m.toml": "[err]\n\"001\" = { stat = \"UNDELIV\", err = 11 }\n"
                                         "\"002\" = { stat = \"undeliv\" }\n"})
        self.assertIn("m.toml:3: err.002.stat", str(e))
        c = self.load("receipt_map = \"m.toml\"",
                      {"m.toml": "[stat]\nDND = { stat = \"REJECTD\", err = 13 }\n"})
        self.assertEqual(c.receipt_map, ((("stat", "DND"), ("REJECTD", 13)),))
