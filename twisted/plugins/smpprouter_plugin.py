"""twistd plugin: ``twistd -n smpprouter --config etc/smpprouter.toml``.

Thin on purpose: options in, service out. No __init__.py in twisted/plugins/
(twistd scans it as a namespace across sys.path).
"""

from twisted.application.service import IServiceMaker
from twisted.plugin import IPlugin
from twisted.python import usage
from zope.interface import implementer


class Options(usage.Options):
    optParameters = [
        ["config", "c", "etc/smpprouter.toml", "The configuration file."],
        ["redis-url", None, None, "Use this Redis instead of the configured or embedded one."],
        ["listen", None, None, "Endpoint of the first SMPP listener (e.g. tcp:2785)."],
        ["http-listen", None, None, "Endpoint of the first HTTP listener (e.g. tcp:2790)."],
        ["worker", None, None, "This process's number among several sharing the listeners "
                               "(SO_REUSEPORT) and the Redis; see smpprouter run.", int],
        ["log-format", None, None, "text or json (one JSON object per line); default: the "
                                   "config's [log] format."],
    ]

    def postOptions(self):
        """With JSON logs, name our observer as twistd's --logger (twistd's own
        postOptions, which runs after ours, imports it by that name)."""
        form = self["log-format"]
        if form is not None and form not in ("text", "json"):
            raise usage.UsageError("--log-format: text or json, not %r" % form)
        if form is None:
            form = _configured_format(self["config"])
        parent = getattr(self, "parent", None)
        if form == "json" and parent is not None and not parent.get("logger"):
            from smpprouter.logs import twistd_json
            parent["logger"] = twistd_json(parent.get("logfile"), parent.get("nodaemon"))


def _configured_format(path):
    """The config's [log] format; "text" if the file has errors (makeService
    reports them, with file and line)."""
    from smpprouter.config import load_config
    from smpprouter.tomlfile import ConfigError
    try:
        return load_config(path).log.format
    except (ConfigError, OSError, ValueError):
        return "text"


@implementer(IServiceMaker, IPlugin)
class SMPPRouterServiceMaker:
    tapname = "smpprouter"
    description = "Carrier-grade SMPP router."
    options = Options

    def makeService(self, options):
        from smpprouter.service import make_service
        from smpprouter.tomlfile import ConfigError
        overrides = {}
        if options["redis-url"]:
            overrides["redis_url"] = options["redis-url"]
        if options["listen"]:
            overrides["smpp_listen"] = options["listen"]
        if options["http-listen"]:
            overrides["http_listen"] = options["http-listen"]
        try:
            service = make_service(options["config"], overrides, worker=options["worker"])
        except ConfigError as e:
            raise SystemExit("smpprouter: %s" % e)
        from twisted.internet import reactor
        service.install_reload_signal()
        reactor.callWhenRunning(_exit_zero_on_sigterm, reactor)
        if options["worker"] is not None:
            _stop_with_parent()
        return service


def _stop_with_parent():
    """Linux: a worker gets SIGTERM (a graceful stop) if its supervisor dies,
    even by kill -9, so no worker outlives it holding the port."""
    import ctypes
    import signal
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _exit_zero_on_sigterm(reactor):
    """SIGTERM stops the router gracefully and the process exits 0.

    twistd's own handler stops as cleanly but then re-raises the signal, so
    whatever supervises the router (smpprouter run, a script) would see a
    process killed by SIGTERM after a clean stop.
    """
    import signal

    from twisted.logger import Logger

    def stop(*_):
        Logger().info("Received SIGTERM, stopping gracefully")
        reactor.stop()
    signal.signal(signal.SIGTERM, lambda *_: reactor.callFromThread(stop))


serviceMaker = SMPPRouterServiceMaker()
