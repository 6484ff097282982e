"""Prometheus metrics: what the router counts, exported at scrape time.

Why this shape:
- No prometheus_client object is touched per message. The router counts in
  plain dicts it keeps anyway (Core.counters, Connector.counters,
  Deliveries.counters) and in a few more kept only for the metrics (submits
  by user, connector and status; upstream responses by status; receipts by
  message_state; latency histograms as lists of bucket counts, histogram.py),
  all None when [metrics] enabled = false. A scrape reads them (snapshot.py)
  and a custom Collector turns them into metric families (collector.py).
- Labels are bounded: users and connectors come from the config (a session
  has a user only once bound), statuses and states outside the spec's
  enumerations are counted as one "other" value.
- Several workers share the listening ports (SO_REUSEPORT), so a scrape lands
  on any one of them, and one scrape must show the whole machine. Rather
  than prometheus_client's multiprocess mode (a value written through the
  library, into an mmap'ed file, per message: the cost we avoid above), each
  worker publishes its snapshot to one Redis hash, `metrics:{router}`, field
  = its consumer name, every publish_interval seconds, and a scrape writes
  its own fresh snapshot there and reads the hash back in the same flush
  (publish.py). The scrape answers the sum:
  - counters and histograms of every snapshot ever written, live or not: a
    stopped worker's counts stay in the totals, and a restarted worker (same
    consumer name) starts from what it last published, so totals only grow
    (counts of the last interval before a crash are lost, never doubled);
  - gauges (binds) of the snapshots fresher than three intervals only.
  Each field only ever grows and every scrape reads all fields after writing
  its own, so successive scrapes, wherever they land, never see a counter go
  down. Queue depths are read from Redis at scrape time (one XLEN or ZCARD
  per queue, in one flush, bounded by a timeout) and not summed.
  Without Redis the scrape still answers, with this worker's counts alone
  and smpprouter_metrics_merged 0.
The core never imports prometheus_client: only collector.py and resource.py do.
"""
