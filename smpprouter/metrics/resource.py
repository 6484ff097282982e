"""/metrics: the twisted.web side of the metrics (publish.Publisher.scrape)."""

from prometheus_client import CONTENT_TYPE_LATEST
from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import resource, server

from ..http.site import Root, Site


class MetricsResource(resource.Resource):
    isLeaf = True
    log = Logger()

    def __init__(self, publisher):
        super().__init__()
        self.publisher = publisher

    def render_GET(self, request):
        d = defer.Deferred.fromCoroutine(self.publisher.scrape())
        d.addCallbacks(self._write, self._failed, (request,), None, (request,))
        return server.NOT_DONE_YET

    def _write(self, body, request):
        if request.finished or request.channel is None:
            return   # the scraper went away meanwhile
        request.setHeader(b"content-type", CONTENT_TYPE_LATEST.encode("ascii"))
        request.setHeader(b"content-length", b"%d" % len(body))
        request.write(body)
        request.finish()

    def _failed(self, failure, request):
        self.log.failure("metrics: scrape failed", failure)
        if not request.finished and request.channel is not None:
            request.setResponseCode(500)
            request.finish()


def resource_for(publisher):
    """What make_site mounts at /metrics."""
    return MetricsResource(publisher)


def metrics_site(publisher, config, reactor=None):
    """The Site of a [listeners.metrics]: /metrics and nothing else."""
    root = Root()
    root.putChild(b"metrics", MetricsResource(publisher))
    return Site(root, config.http, reactor)
