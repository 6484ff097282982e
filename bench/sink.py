"""A webhook receiver for the HTTP bench: counts what the router POSTs to it.

    python -m bench.sink --port PORT [--ids FILE]

Answers every POST 200 (GET: the counts so far, as JSON) and keeps, per path, the number of requests, the
distinct event ids (header X-Smpprouter-Event) and the distinct transids of
delivery notifications (seed 004's deliveryInfoNotification.transid). On
SIGTERM it prints one line `stats json: {...}` and, with --ids, writes the
transids it saw to FILE, one per line, so the bench can match them with the
ids the router handed out.
"""

import argparse
import json
import signal
import sys

from twisted.internet import reactor
from twisted.web import resource, server

EVENT_HEADER = b"x-smpprouter-event"


class Sink(resource.Resource):
    isLeaf = True

    def __init__(self):
        super().__init__()
        self.requests = 0
        self.events = set()
        self.transids = set()
        self.duplicates = 0
        self.undecodable = 0

    def render_GET(self, request):
        request.setHeader(b"content-type", b"application/json")
        return json.dumps(self.stats()).encode()

    def render_POST(self, request):
        self.requests += 1
        event = request.getHeader(EVENT_HEADER)
        if event is not None:
            if event in self.events:
                self.duplicates += 1
            self.events.add(event)
        try:
            body = json.loads(request.content.read())
            transid = body["deliveryInfoNotification"]["transid"]
        except (ValueError, KeyError, TypeError):
            self.undecodable += 1
        else:
            self.transids.add(transid)
        return b""

    def stats(self):
        return {"requests": self.requests, "events": len(self.events),
                "transids": len(self.transids), "duplicate_events": self.duplicates,
                "undecodable": self.undecodable}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ids", help="write the transids seen here on SIGTERM")
    args = p.parse_args(argv)
    sink = Sink()
    site = server.Site(sink)
    site.log = lambda request: None
    reactor.listenTCP(args.port, site, interface="127.0.0.1", backlog=1024)

    def stop(*_):
        if args.ids:
            with open(args.ids, "w") as f:
                f.writelines(t + "\n" for t in sink.transids)
        print("stats json: " + json.dumps(sink.stats()), flush=True)
        reactor.callFromThread(reactor.stop)
    signal.signal(signal.SIGTERM, stop)
    print("webhook sink on 127.0.0.1:%d" % args.port, flush=True)
    reactor.run(installSignalHandlers=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
