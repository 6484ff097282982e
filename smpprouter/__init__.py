"""smpprouter: a carrier-grade SMPP router on Twisted."""
