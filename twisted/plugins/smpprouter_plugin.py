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
        ["worker", None, None, "This process's number among several sharing the listeners "
                               "(SO_REUSEPORT) and the Redis; see smpprouter run.", int],
    ]


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
        try:
            return make_service(options["config"], overrides, worker=options["worker"])
        except ConfigError as e:
            raise SystemExit("smpprouter: %s" % e)


serviceMaker = SMPPRouterServiceMaker()
