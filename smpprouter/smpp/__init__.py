"""SMPP 3.4 (and 3.3) without I/O: the PDU codec and framing, command status
codes, TLVs, text encodings and segmentation, delivery receipts, SMPP times,
and the session state machine. Nothing here touches a socket or a reactor;
smpprouter.protocol drives it over Twisted."""
