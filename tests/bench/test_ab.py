"""The measuring tools' own parts, without a router: bench.ab's arithmetic and
checks, bench.redisinfo's counting against a real Redis, bench.profile's parsing."""

import io
import os
import shutil
import subprocess
import sys
import tempfile

from twisted.trial import unittest

from bench import ab, profile, redisinfo
from tests.redis_server import shared


def row(path, side, rnd, cpu, rate, workers=1):
    return {"path": path, "side": side, "round": rnd, "workers": workers, "cpu_us": cpu,
            "msg_per_s": rate}


class ArithmeticTest(unittest.TestCase):

    def test_ratio_per_round_is_tree_over_baseline_whatever_the_order(self):
        rows = [row("sync", "baseline", 1, 200.0, 4000), row("sync", "tree", 1, 100.0, 6000),
                row("sync", "tree", 2, 150.0, 5000), row("sync", "baseline", 2, 200.0, 5000),
                row("sf", "baseline", 1, 300.0, 1000)]     # no tree side: no ratio
        self.assertEqual(ab.round_ratios(rows, "cpu_us"), {("sync", 1): [0.5, 0.75]})
        self.assertEqual(ab.round_ratios(rows, "msg_per_s"), {("sync", 1): [1.5, 1.0]})

    def test_worker_counts_are_kept_apart(self):
        rows = [row("sync", "baseline", 1, 200.0, 1, workers=1),
                row("sync", "tree", 1, 100.0, 1, workers=1),
                row("sync", "baseline", 1, 100.0, 1, workers=2),
                row("sync", "tree", 1, 100.0, 1, workers=2)]
        self.assertEqual(ab.round_ratios(rows, "cpu_us"), {("sync", 1): [0.5], ("sync", 2): [1.0]})

    def test_median_and_units(self):
        self.assertEqual(ab.median([1.2, 0.9, 1.0]), 1.0)
        self.assertEqual(ab.median([1.0, 2.0]), 1.5)
        self.assertIsNone(ab.median([]))
        self.assertIsNone(ab.ratio(1.0, 0))
        self.assertEqual(ab.in_yardsticks(180.0, 40.0), 4.5)
        self.assertIsNone(ab.in_yardsticks(180.0, 0))

    def test_the_table_prints_the_median_ratio_and_the_redis_figures(self):
        def full(side, rnd, cpu, workers=1):
            r = row("sync", side, rnd, cpu, 1000.0, workers)
            r.update(label=side, messages=100, user_us=cpu - 10, system_us=10.0, ok=True,
                     redis={"commands_per_message": 7.5, "reads_per_message": 0.1,
                            "bytes_in_per_message": 465, "bytes_out_per_message": 354,
                            "cpu_us_per_message": 40.0, "by_command": {"hset": 2.0},
                            "commands": {"hset": 200}})
            return r
        rows = [full("baseline", 1, 200.0), full("tree", 1, 100.0), full("tree", 2, 180.0),
                full("baseline", 2, 200.0), full("tree", 2, 90.0, workers=2)]
        out = io.StringIO()
        ab.print_table(rows, {1: 40.0, 2: 40.0}, out)
        text = out.getvalue()
        self.assertIn("CPU per message 0.500 0.900  median 0.700", text)
        self.assertIn(" 5.00 ", text)          # 200 us in 40 us yardsticks
        self.assertIn("7.50: hset 2.00", text)
        self.assertIn("2 workers / 1: 1.00x msg/s, 0.50x CPU per message", text)

    def test_cpu_lists_as_taskset_reads_them(self):
        self.assertEqual(ab.parse_cpus("0"), {0})
        self.assertEqual(ab.parse_cpus("0,2-4"), {0, 2, 3, 4})
        self.assertRaises(ValueError, ab.parse_cpus, ",")

    def test_yardstick_is_a_parse_time(self):
        us = ab.yardstick_us(repeat=2, number=50)
        self.assertGreater(us, 0.5)      # smpplib's generic codec: tens of us per PDU
        self.assertLess(us, 10000)


class WhoamiTest(unittest.TestCase):
    """The check that a router process runs the side's code, with a real child
    Python started as bench.ab starts the router (its env)."""

    def setUp(self):
        self.scratch = tempfile.mkdtemp(prefix="bench-ab-test-")
        self.addCleanup(shutil.rmtree, self.scratch, ignore_errors=True)
        self.whoami = os.path.join(self.scratch, "whoami")
        os.makedirs(self.whoami)
        with open(os.path.join(self.whoami, "sitecustomize.py"), "w") as f:
            f.write(ab.SITECUSTOMIZE)

    def child(self, side):
        return subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              env=side.env, check=True, capture_output=True,
                              text=True).stdout.strip()

    def test_a_tree_first_on_the_path_is_the_one_imported(self):
        other = os.path.join(self.scratch, "other")
        os.makedirs(os.path.join(other, "smpprouter"))
        with open(os.path.join(other, "smpprouter", "__init__.py"), "w") as f:
            f.write('"""a stand-in baseline"""\n')
        side = ab.Side("baseline", "x", other, self.whoami)
        pid = int(self.child(side))
        run = type("Run", (), {"pids": [pid]})
        ab.Whoami(side).start(run)               # its smpprouter is other's
        tree = ab.Side("tree", "y", ab.ROOT, self.whoami)
        self.assertRaises(RuntimeError, ab.Whoami(tree).start, run)   # not the tree's

    def test_a_process_that_reported_nothing_fails_the_check(self):
        side = ab.Side("tree", "y", ab.ROOT, self.whoami)
        run = type("Run", (), {"pids": [os.getpid()]})
        self.assertRaises(RuntimeError, ab.Whoami(side).start, run)


class RedisInfoTest(unittest.TestCase):
    """commandstats deltas against a real Redis: what was sent is what is counted."""

    def test_commands_of_a_load_counted_by_kind(self):
        import redis
        server = shared()
        client = redis.Redis(host=server.host, port=server.port, password=server.password)
        self.addCleanup(client.close)
        before = redisinfo.snapshot(client)
        for i in range(10):
            client.set("bench-ab-test:%d" % i, "x" * 100)
        client.eval("redis.call('hset', KEYS[1], 'a', 1); return 1", 1, "bench-ab-test:h")
        after = redisinfo.snapshot(client)
        figures = redisinfo.per_message(before, after, 5)
        self.assertEqual(figures["commands"], {"set": 10, "eval": 1, "hset": 1})
        self.assertEqual(figures["commands_per_message"], 12 / 5)
        self.assertEqual(list(figures["by_command"]), ["set", "eval", "hset"])
        self.assertGreater(figures["bytes_in_per_message"], 10 * 100 / 5)
        self.assertGreaterEqual(figures["reads_per_message"], 11 / 5)
        self.assertTrue(redisinfo.format_commands(figures).startswith("2.40: set 2.00"))

    def test_monitor_tells_what_a_script_called_from_what_was_sent(self):
        import redis
        server = shared()
        client = redis.Redis(host=server.host, port=server.port, password=server.password)
        self.addCleanup(client.close)
        watcher = redis.Redis(host=server.host, port=server.port, password=server.password,
                              socket_timeout=2)
        sampler = redisinfo._Monitor(watcher, 3)
        sampler.start()
        self.assertTrue(sampler.started.wait(10))
        client.eval("redis.call('hset', KEYS[1], 'a', 1); return 1", 1, "bench-ab-test:m")
        client.set("bench-ab-test:n", "1")    # the third command: the sampler stops
        sampler.join(10)
        self.assertFalse(sampler.is_alive())
        self.assertEqual(sampler.sample[("eval", False)], 1)
        self.assertEqual(sampler.sample[("hset", True)], 1)
        self.assertEqual(sampler.sample[("hset", False)], 0)
        self.assertEqual(sampler.sample[("set", False)], 1)

    def test_parsed_commandstats_leave_out_the_probes_own(self):
        stats = {"cmdstat_info": {"calls": 9}, "cmdstat_auth": {"calls": 1},
                 "cmdstat_client|setname": {"calls": 1}, "cmdstat_xadd": {"calls": 4},
                 "cmdstat_evalsha": {"calls": 2, "usec": 10}, "errorstat_ERR": {"count": 1}}
        self.assertEqual(redisinfo.command_counts(stats), {"xadd": 4, "evalsha": 2})
        self.assertEqual(redisinfo.delta({"xadd": 4}, {"xadd": 6, "get": 1, "set": 0}),
                         {"xadd": 2, "get": 1})


    def test_requests_sent_apart_from_what_scripts_called(self):
        commands = {"evalsha": 10, "hset": 30, "get": 5}
        sample = {("evalsha", False): 4, ("hset", True): 8, ("hset", False): 4}
        # hset: a third sent by clients; get never sampled: counted as sent
        self.assertEqual(redisinfo.sent(commands, sample), 10 + 10 + 5)


class ProfileParseTest(unittest.TestCase):

    def test_collapsed_stacks_own_and_cumulative(self):
        lines = ["main (a.py:1);f (b.py:2);g (smpprouter/smpp/codec.py:3) 3\n",
                 "main (a.py:1);f (b.py:2) 1\n", "\n",
                 "main (a.py:1);g (smpprouter/smpp/codec.py:3);g (smpprouter/smpp/codec.py:3) 2\n"]
        total, own, cumulative = profile.parse_collapsed(lines)
        self.assertEqual(total, 6)
        self.assertEqual(own["g (smpprouter/smpp/codec.py:3)"], 5)
        self.assertEqual(cumulative["g (smpprouter/smpp/codec.py:3)"], 5)   # once per sample
        self.assertEqual(cumulative["main (a.py:1)"], 6)
        self.assertEqual(profile.layers(own)["codec (smpp/codec, tlv, pdu)"], 5)

    def test_layers_by_file(self):
        self.assertEqual(profile.layer_of("decode_SubmitSm (<smpp codec SubmitSm>:1)"),
                         "codec (smpp/codec, tlv, pdu)")
        self.assertEqual(profile.layer_of("Deferred.callback (twisted/internet/defer.py:858)"),
                         "Deferreds (twisted defer)")
        self.assertEqual(profile.layer_of("HiredisProtocol.dataReceived (txredisapi.py:1858)"),
                         "Redis client (store/, txredisapi)")
        self.assertEqual(profile.layer_of("MTPath.submit (smpprouter/core/mt.py:131)"),
                         "core (core/, routing/, policy/)")
