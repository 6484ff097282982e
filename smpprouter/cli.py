"""The `smpprouter` command: the operator's tools around a running router.

Running the router is twistd's job (`twistd smpprouter`); this command does
what an operator needs beside it: make a password hash for the config, check
an edited config before it goes live, and ask the running router to reload
it. `reload` checks first, so a broken file is reported here rather than in
the router's log.
"""

import argparse
import getpass
import os
import signal
import sys

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


def _load(args):
    """The config, with its routing table checked as the router would; or None
    after printing the error."""
    from .http.templates import load_templates
    from .service import load_routes
    try:
        config = load_config(args.config)
        load_routes(config)
        if config.http.templates:   # the REST API reads it at start: check it now
            load_templates(config.http.templates)
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


def _run(args) -> int:
    from .supervisor import run
    from .tomlfile import ConfigError
    try:
        run(args.config, args.workers, args.redis_url, args.listen, args.http_listen)
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

    run = commands.add_parser("run", help="run the router: WORKERS processes sharing the "
                                          "listeners and one Redis")
    run.add_argument("--config", default=DEFAULT_CONFIG,
                     help="the configuration file (default: %(default)s)")
    run.add_argument("--workers", type=int, default=1, help="router processes (default 1)")
    run.add_argument("--redis-url", default=None, help="use this Redis, not the configured one")
    run.add_argument("--listen", default=None, help="endpoint of the first SMPP listener")
    run.add_argument("--http-listen", default=None,
                     help="endpoint of the first HTTP listener")
    run.set_defaults(run=_run)
    return parser


def main(argv=None) -> int:
    """Run one command; the exit status."""
    args = _parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
