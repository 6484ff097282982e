"""Business rules as pure functions of data and config: who may send from which
sender id, what TLVs a route needs. No I/O; the core applies them per message,
and only for users or routes that have them configured."""
