"""The `smpprouter` command: the operator's tools around a running router.

Running the router is twistd's job (`twistd smpprouter`); this command does
what an operator needs beside it: make a password hash for the config, check
an edited config before it goes live, ask the running router to reload it,
top up or show a prepaid user's credit, edit the number lists (`lists`:
do-not-disturb, blocklist, opt-out, opt-in), show what every process sharing
the Redis holds (`status`), and explain what the routing table would do
with a message (`route explain`, no Redis needed). `reload` checks first, so a
broken file is reported here rather than in the router's log.
"""

import argparse
import getpass
import os
import signal
import socket
import sys
import time

from smpprouter.config import ConfigError, load_config
from smpprouter.passwords import hash_password, hash_service_key, new_service_key

DEFAULT_CONFIG = os.path.join("etc", "smpprouter.toml")
SMPP_PASSWORD_MAX = 8  # a bind's password field holds 8 characters and the NUL


def _read_password(args) -> str | None:
    if args.password is not None:
        return args.password
    if args.stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        print("smpprouter passwd: the passwords differ", file=sys.stderr)
        return None
    return first


def _passwd(args) -> int:
    if args.key:
        return _service_key(args)
    password = _read_password(args)
    if password is None:
        return 1
    if not password:
        print("smpprouter passwd: the password is empty", file=sys.stderr)
        return 1
    if len(password) > SMPP_PASSWORD_MAX:
        print("smpprouter passwd: warning: SMPP binds carry at most %d characters of "
              "password; ESMEs cannot send this one" % SMPP_PASSWORD_MAX, file=sys.stderr)
    print(hash_password(password))
    return 0


def _service_key(args) -> int:
    """A service key for the REST API: a new random one unless given."""
    key = args.password
    if key is None and args.stdin:
        key = sys.stdin.readline().rstrip("\r\n")
    if key is None:
        key = new_service_key()
        print("key (give it to the user; only its hash below goes in the config): %s" % key)
    elif not key:
        print("smpprouter passwd: the key is empty", file=sys.stderr)
        return 1
    print(hash_service_key(key))
    return 0


def _config(args):
    """The config file, or None after printing its error (file, line, key)."""
    try:
        return load_config(args.config)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return None


def _load(args):
    """The config, with its routing table checked as the router would; or None
    after printing the error."""
    from .http.linktable import load_links
    from .http.templates import load_templates
    from .policy.content import load_content
    from .service import load_routes
    try:
        config = load_config(args.config)
        load_routes(config)
        if config.http.templates:   # the REST API reads it at start: check it now
            load_templates(config.http.templates)
        if config.http.links:
            load_links(config.http.links)
        if config.router.content:
            load_content(config.router.content, config.users)
        return config
    except ConfigError as e:
        print(e, file=sys.stderr)
        return None


def _check(args) -> int:
    if _load(args) is None:
        return 1
    print("OK")
    return 0


def _reload(args) -> int:
    loaded = _load(args)
    if loaded is None:
        print("smpprouter reload: not reloading a config with errors", file=sys.stderr)
        return 1
    pid_file = loaded.router.pid_file
    try:
        with open(pid_file) as f:
            text = f.read().strip()
    except FileNotFoundError:
        print("smpprouter reload: no pid file %s: is the router running?" % pid_file,
              file=sys.stderr)
        return 1
    except OSError as e:
        print("smpprouter reload: cannot read %s: %s" % (pid_file, e.strerror),
              file=sys.stderr)
        return 1
    if not text.isdigit() or int(text) < 1:
        print("smpprouter reload: %s does not hold a process id" % pid_file, file=sys.stderr)
        return 1
    pid = int(text)
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        print("smpprouter reload: no process %d (stale pid file %s): is the router "
              "running?" % (pid, pid_file), file=sys.stderr)
        return 1
    except PermissionError:
        print("smpprouter reload: not permitted to signal process %d" % pid, file=sys.stderr)
        return 1
    print("sent SIGHUP to process %d" % pid)
    return 0


def _amount(text):
    """+N or -N minor units: a credit is always added (a correction subtracts), never set."""
    if text[:1] not in "+-" or not text[1:].isdigit() or not text[1:].isascii():
        raise ValueError("%r: write the amount with its sign, as +10000 (add) or -500 (a "
                         "correction), in whole minor units: a credit is added, never set"
                         % text)
    value = int(text)
    if not value:
        raise ValueError("the amount is 0: nothing to add")
    return value


def _redis_of(config):
    """RedisStore arguments for the configured Redis, or the embedded one of
    var_dir (the port its router wrote to redis.port, if that server is alive)."""
    redis = config.redis
    if redis.cluster:
        return dict(nodes=redis.cluster, password=redis.password, username=redis.username)
    if not redis.embedded:
        from .store.sentinel import store_options
        return dict(host=redis.host, port=redis.port, db=redis.db, password=redis.password,
                    username=redis.username, unix_socket=redis.unix_socket,
                    **store_options(redis))
    from .store.embedded import HOST, EmbeddedRedis, stored_password
    embedded = EmbeddedRedis(config.router.var_dir)
    try:
        with open(embedded.pidfile) as f:
            pid = int(f.read())
        with open(embedded.portfile) as f:
            port = int(f.read())
        os.kill(pid, 0)
    except (OSError, ValueError):
        raise LookupError("no embedded Redis is running under %s (the router starts it: "
                          "`smpprouter run`), and [redis] url is not set"
                          % config.router.var_dir) from None
    return dict(host=HOST, port=port, password=stored_password(config.router.var_dir, port))


def _with_store(config, work):
    """work(store) -> awaitable, run on a RedisStore of config's Redis; its result."""
    from twisted.internet import defer, reactor
    from .store.cluster import ClusterStore
    from .store.redis import RedisStore
    where = _redis_of(config)
    outcome = []

    async def main():
        kind = ClusterStore if "nodes" in where else RedisStore
        store = kind(reactor=reactor, instance="cli", ledger_max=config.redis.ledger_max,
                     **where)
        await store.start()
        try:
            return await work(store)
        finally:
            await store.stop()

    d = defer.Deferred.fromCoroutine(main())
    d.addBoth(outcome.append)
    d.addBoth(lambda _: reactor.stop())
    if not outcome:
        reactor.run(installSignalHandlers=False)
    result = outcome[0]
    if hasattr(result, "raiseException"):
        result.raiseException()
    return result


def _credit(args) -> int:
    config = _config(args)
    if config is None:
        return 1
    user = config.users.get(args.user)
    if user is None:
        from .routing.rules import suggest
        print("smpprouter credit: no user %r in %s%s" % (args.user, args.config,
                                                        suggest(args.user, config.users)),
              file=sys.stderr)
        return 1
    amount = None
    if args.amount is not None:
        try:
            amount = _amount(args.amount)
        except ValueError as e:
            print("smpprouter credit: %s" % e, file=sys.stderr)
            return 1
        if not user.prepaid:
            print("smpprouter credit: %s is postpaid (billing = \"postpaid\"): it is metered, "
                  "a balance would never be used; set billing = \"prepaid\" first"
                  % user.name, file=sys.stderr)
            return 1
    elif not user.prepaid:
        print("%s: postpaid (metered, no balance)" % user.name)
        return 0
    who = "%s@%s" % (getpass.getuser(), socket.gethostname())
    why = args.reason or ("top-up" if amount and amount > 0 else "correction")

    async def work(store):
        if amount is not None:
            balance = await store.credit(user.name, amount, who, why)
            return balance, []
        return await store.balance(user.name), await store.ledger(user.name, args.last)
    try:
        balance, entries = _with_store(config, work)
    except Exception as e:
        print("smpprouter credit: %s" % e, file=sys.stderr)
        return 1
    if amount is not None:
        print("%s: %+d, balance %d (minor units)" % (user.name, amount, balance))
        return 0
    print("%s: balance %d (minor units)%s" % (
        user.name, balance, ", below its low_balance %d" % user.low_balance
        if user.low_balance and balance < user.low_balance else ""))
    for e in entries:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(e["at"] / 1000))
        print("  %s UTC  %-6s %+10d  balance %10s  %s  %s%s" % (
            when, e.get("kind", "?"), int(e.get("amount", 0)), e.get("balance", "?"),
            e.get("who", ""), e.get("why", ""), "  id " + e["id"] if e.get("id") else ""))
    return 0


def _lists(args) -> int:
    from .core.hygiene import KINDS, SENDER
    from .policy.numberlists import BadNumber, number, read_csv, sender
    from .store import keys
    config = _config(args)
    if config is None:
        return 1
    if args.user is not None and args.user not in config.users:
        from .routing.rules import suggest
        print("smpprouter lists: no user %r in %s%s" % (args.user, args.config,
                                                       suggest(args.user, config.users)),
              file=sys.stderr)
        return 1
    assert args.list in KINDS
    key = keys.number_list(args.list, args.user or "")
    parse, what = (sender, "sender ids") if args.list == SENDER.kind else (number, "numbers")
    try:
        if args.action == "import":
            if len(args.items) != 1:
                raise BadNumber("import takes one file: smpprouter lists import LIST FILE.csv")
            with open(args.items[0], newline="", encoding="utf-8-sig") as f:
                numbers = read_csv(f, parse)
        else:
            numbers = [parse(n) for n in args.items]
            if args.action == "count" and numbers:
                raise BadNumber("count takes no %s" % what)
            if args.action != "count" and not numbers:
                raise BadNumber("%s: give the %s" % (args.action, what))
    except (BadNumber, OSError) as e:
        print("smpprouter lists: %s" % e, file=sys.stderr)
        return 1

    async def work(store):
        if args.action == "count":
            return await store.list_count(key)
        if args.action == "remove":
            return await store.list_remove(key, numbers)
        return await store.list_add(key, numbers)
    try:
        n = _with_store(config, work)
    except Exception as e:
        print("smpprouter lists: %s" % e, file=sys.stderr)
        return 1
    name = args.list + (" of " + args.user if args.user else " (global)")
    if args.action == "count":
        print("%s: %d %s" % (name, n, what))
    elif args.action == "remove":
        print("%s: %d of %d removed" % (name, n, len(numbers)))
    else:
        print("%s: %d of %d added (the rest were there)" % (name, n, len(numbers)))
    return 0


def _tlv_args(items):
    """{TLV key: text} of --tlv NAME=VALUE options (names as routes.toml takes them)."""
    from .routing.rules import _TLV_NAMES, suggest
    tlvs = {}
    for item in items:
        name, equals, value = item.partition("=")
        if not equals or name.lower() not in _TLV_NAMES:
            raise ValueError("--tlv %r: write NAME=VALUE with a TLV name (pe_id, template_id, "
                             "tm_id, ...)%s" % (item, suggest(name.lower(), _TLV_NAMES)))
        tlvs[_TLV_NAMES[name.lower()]] = value
    return tlvs


def _explain(args) -> int:
    from .routing.explain import explain
    from .service import load_routes
    try:
        config = load_config(args.config)
        table = load_routes(config)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    user = config.users.get(args.user)
    if user is None:
        from .routing.rules import suggest
        print("smpprouter route explain: no user %r in %s%s" % (
            args.user, args.config, suggest(args.user, config.users)), file=sys.stderr)
        return 1
    if not hasattr(table, "routes"):
        print("smpprouter route explain: the routing plugin %r cannot explain its decisions"
              % config.router.routing, file=sys.stderr)
        return 1
    try:
        tlvs = _tlv_args(args.tlv)
    except ValueError as e:
        print("smpprouter route explain: %s" % e, file=sys.stderr)
        return 1
    out = explain(user, table, args.dest, args.source, tlvs, args.service_type,
                  args.dest_ton)
    for line in out.lines:
        print(line)
    return 0 if out.status == 0 else 2


def _status(args) -> int:
    from . import status
    config = _config(args)
    if config is None:
        return 1
    try:
        raw = _with_store(config, lambda store: status.gather(store, config))
    except Exception as e:
        print("smpprouter status: %s" % e, file=sys.stderr)
        return 1
    report = status.report(raw, config)
    sys.stdout.write(status.as_json(report) if args.json else status.render(report))
    return 0


def _run(args) -> int:
    from .supervisor import run
    from .tomlfile import ConfigError
    try:
        run(args.config, args.workers, args.redis_url, args.listen, args.http_listen,
            args.log_format)
    except ConfigError as e:
        print("smpprouter: %s" % e, file=sys.stderr)
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smpprouter", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    passwd = commands.add_parser("passwd", help="print a password hash for [users.NAME], "
                                                "or with --key a service key's")
    source = passwd.add_mutually_exclusive_group()
    source.add_argument("password", nargs="?",
                        help="the password (visible to other users of this machine: "
                             "prefer the prompt or --stdin)")
    source.add_argument("--stdin", action="store_true",
                        help="read the password from one line of standard input")
    passwd.add_argument("--key", action="store_true",
                        help="a REST service key (users' service_key): the one given, "
                             "or a new random one, printed with its stored form")
    passwd.set_defaults(run=_passwd)

    for name, run, text in (("check", _check, "check the configuration and routes"),
                            ("reload", _reload, "check, then make the running router "
                                                "reload its configuration (SIGHUP)")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--config", default=DEFAULT_CONFIG,
                             help="the configuration file (default: %(default)s)")
        command.set_defaults(run=run)

    credit = commands.add_parser(
        "credit", help="a prepaid user's credit: show it, or add +AMOUNT (or -AMOUNT, a "
                       "correction) minor units; never set. Every change is in its ledger")
    credit.add_argument("user")
    credit.add_argument("amount", nargs="?", metavar="+AMOUNT",
                        help="+N adds N minor units (the unit of routes.toml's prices); -N "
                             "subtracts; none: show the balance and the ledger's last entries")
    credit.add_argument("--reason", default="", help="why, kept in the ledger")
    credit.add_argument("--last", type=int, default=10, help="ledger entries shown "
                                                             "(default %(default)s)")
    credit.add_argument("--config", default=DEFAULT_CONFIG,
                        help="the configuration file (default: %(default)s)")
    credit.set_defaults(run=_credit)

    lists = commands.add_parser(
        "lists", help="the lists messages are checked against: sender (blocked sender "
                      "ids), dnd (do not disturb), block, optout (refused), optin (required "
                      "on routes with require_opt_in); global, or a user's with --user")
    lists.add_argument("action", choices=("add", "remove", "import", "count"))
    lists.add_argument("list", choices=("sender", "dnd", "block", "optout", "optin"))
    lists.add_argument("items", nargs="*", metavar="NUMBER",
                       help="the numbers, or for sender the sender ids (add, remove), or "
                            "one CSV file whose first column holds them (import)")
    lists.add_argument("--user", default=None, help="that user's list, not the global one")
    lists.add_argument("--config", default=DEFAULT_CONFIG,
                       help="the configuration file (default: %(default)s)")
    lists.set_defaults(run=_lists)

    route = commands.add_parser("route", help="the routing table's decisions")
    route_commands = route.add_subparsers(dest="route_command", required=True,
                                          metavar="COMMAND")
    explain = route_commands.add_parser(
        "explain", help="which rule a message would match and why, its rewrites, "
                        "connectors and price, or why it is refused; nothing is sent "
                        "(exit status 0 routed, 2 refused, 1 error)")
    explain.add_argument("--user", required=True, help="the sending user")
    explain.add_argument("--dest", required=True, help="the destination address, as sent")
    explain.add_argument("--source", default="", help="the source address (default none)")
    explain.add_argument("--tlv", action="append", default=[], metavar="NAME=VALUE",
                         help="a TLV the message carries (repeatable), e.g. pe_id=1201...")
    explain.add_argument("--service-type", default="", help="the message's service_type")
    explain.add_argument("--dest-ton", type=int, default=0,
                         help="the destination's TON (2: national; default 0, unknown)")
    explain.add_argument("--config", default=DEFAULT_CONFIG,
                         help="the configuration file (default: %(default)s)")
    explain.set_defaults(run=_explain)

    status = commands.add_parser(
        "status", help="every router process sharing the Redis: sessions per user, "
                       "connectors' binds, queue depths and their oldest entry's age")
    status.add_argument("--json", action="store_true", help="as JSON, for scripts")
    status.add_argument("--config", default=DEFAULT_CONFIG,
                        help="the configuration file (default: %(default)s)")
    status.set_defaults(run=_status)

    run = commands.add_parser("run", help="run the router: WORKERS processes sharing the "
                                          "listeners and one Redis")
    run.add_argument("--config", default=DEFAULT_CONFIG,
                     help="the configuration file (default: %(default)s)")
    run.add_argument("--workers", type=int, default=1, help="router processes (default 1)")
    run.add_argument("--redis-url", default=None, help="use this Redis, not the configured one")
    run.add_argument("--listen", default=None, help="endpoint of the first SMPP listener")
    run.add_argument("--http-listen", default=None,
                     help="endpoint of the first HTTP listener")
    run.add_argument("--log-format", choices=("text", "json"), default=None,
                     help="text, or json: one JSON object per line (default: the config's "
                          "[log] format)")
    run.set_defaults(run=_run)
    return parser


def main(argv=None) -> int:
    """Run one command; the exit status."""
    args = _parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
