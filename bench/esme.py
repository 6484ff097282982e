"""A test and load ESME: the customer's side of an SMPP session, for tests and the bench.

Written on the sans-IO codec and framer only, never on the router's own
protocol classes, so that it can judge them.  Every request returns a
Deferred firing with its response PDU, whatever its status (tests assert
statuses); a generic_nack answering a request fires it too.  Only a lost
connection, or a response that cannot be decoded, fails it.

    client = yield connect("127.0.0.1", port, "transceiver", "esme1", "pw1")
    resp = yield client.submit(destination_addr="123", short_message=b"hi",
                               registered_delivery=1)
    receipt = yield client.next_delivery()
    yield client.unbind()

The other requests an ESME sends have one helper each, all firing with the
response PDU: `query(message_id)`, `cancel(message_id)`, `replace(message_id,
short_message, ...)`, `submit_multi(destinations, ...)` and `data_sm(...)`;
each takes the PDU's other fields as keywords (source_addr, for instance,
which query_sm / cancel_sm / replace_sm must repeat from the submit).
Text (short_message, message_payload) may be given as str: latin-1.

Requests beyond the window (default 10) wait in order and go out as
responses come back.  Received deliver_sm and data_sm are answered
automatically with `deliver_resp_status` (a status, or a callable given the
PDU returning one; None sends no response at all), kept in `deliveries` and
handed out by `next_delivery()`.

For the load generator, `request(pdu, on_resp, on_fail)` is the same thing
without a Deferred per message, and `on_delivery` sees each delivery.
"""

import collections

from twisted.internet import defer, error
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.python import failure

from smpprouter.smpp.codec import decode_frame, encode
from smpprouter.smpp.commands import INTERFACE_V33, INTERFACE_V34, RESPONSE_BIT, CommandId
from smpprouter.smpp.errors import DecodeError, FramingError
from smpprouter.smpp.framer import Framer
from smpprouter.smpp.pdu import (
    BY_COMMAND_ID, BindReceiver, BindTransceiver, BindTransmitter, CancelSm, DataSm, DataSmResp,
    DeliverSmResp, DistributionList, EnquireLink, EnquireLinkResp, GenericNack, QuerySm,
    ReplaceSm, SmeDest, SubmitMulti, SubmitSm, Unbind, UnbindResp,
)
from smpprouter.smpp.status import Status, status_name

SEQUENCE_MAX = 0x7FFFFFFF
DEFAULT_WINDOW = 10

BIND_CLASSES = {
    "transmitter": BindTransmitter, "tx": BindTransmitter,
    "receiver": BindReceiver, "rx": BindReceiver,
    "transceiver": BindTransceiver, "trx": BindTransceiver,
}
_MODE_NAMES = {BindTransmitter: "transmitter", BindReceiver: "receiver",
               BindTransceiver: "transceiver"}
_DELIVERY_RESP = {CommandId.deliver_sm: DeliverSmResp, CommandId.data_sm: DataSmResp}


class BindFailed(Exception):
    """connect() could not bind: `resp` is the bind response received."""

    def __init__(self, resp):
        super().__init__("bind refused: %s" % status_name(resp.command_status))
        self.resp = resp
        self.status = resp.command_status


class ESMEClient(Protocol):
    def __init__(self, window=DEFAULT_WINDOW, deliver_resp_status=Status.ESME_ROK,
                 keep_deliveries=True):
        self.window = window
        self.deliver_resp_status = deliver_resp_status
        self.keep_deliveries = keep_deliveries
        self.on_delivery = None      # callable(pdu), called for each deliver_sm / data_sm
        self.version = INTERFACE_V34
        self.mode = None             # "transmitter", "receiver", "transceiver" once bound
        self.system_id = None
        self.bind_resp = None
        self.deliveries = []         # deliver_sm / data_sm received, in order
        self.generic_nacks = []      # every generic_nack received
        self.unexpected = []         # PDUs matching no request, and requests we do not serve
        self.decode_errors = []      # DecodeErrors raised by what the peer sent
        self.unbound_by_peer = False
        self.connected = False
        self.connection_made = defer.Deferred()
        self.connection_lost = defer.Deferred()   # fires with the exception that closed it
        self.lost_reason = None      # ... and the Failure
        self._framer = Framer()
        self._sequence = 0
        self._pending = {}           # sequence_number -> (on_resp, on_fail)
        self._waiting = collections.deque()   # (pdu, on_resp, on_fail) beyond the window
        self._unread = collections.deque()    # deliveries not yet taken by next_delivery
        self._readers = collections.deque()   # Deferreds of next_delivery calls

    # --- transport --------------------------------------------------------

    def connectionMade(self):
        self.connected = True
        self.transport.setTcpNoDelay(True)   # small PDUs: no Nagle stalls
        self.connection_made.callback(self)

    def connectionLost(self, reason=failure.Failure(error.ConnectionDone())):
        self.connected = False
        pending, self._pending = self._pending, {}
        waiting, self._waiting = self._waiting, collections.deque()
        for _, on_fail in pending.values():
            on_fail(reason)
        for _, _, on_fail in waiting:
            on_fail(reason)
        readers, self._readers = self._readers, collections.deque()
        for d in readers:
            d.errback(reason)
        self.lost_reason = reason
        self.connection_lost.callback(reason.value)

    def dataReceived(self, data):
        try:
            for buf, start, end in self._framer.frames(data):
                try:
                    pdu = decode_frame(buf, start, end, self.version)
                except DecodeError as e:
                    self._decode_error(e)
                    continue
                cid = pdu.command_id
                if cid & RESPONSE_BIT:
                    self._on_response(pdu)
                elif cid in _DELIVERY_RESP:
                    self._on_delivery(pdu)
                elif cid == CommandId.enquire_link:
                    self.transport.write(encode(EnquireLinkResp(0, pdu.sequence_number)))
                elif cid == CommandId.unbind:
                    self.unbound_by_peer = True
                    self.transport.write(encode(UnbindResp(0, pdu.sequence_number)))
                    self.transport.loseConnection()
                else:
                    self.unexpected.append(pdu)
                    resp = BY_COMMAND_ID.get(cid | RESPONSE_BIT)
                    if resp is None:
                        resp = GenericNack
                    self.transport.write(encode(resp(Status.ESME_RINVCMDID,
                                                     pdu.sequence_number)))
        except FramingError as e:
            self.decode_errors.append(e)
            self.transport.loseConnection()

    def _decode_error(self, e):
        self.decode_errors.append(e)
        if e.command_id & RESPONSE_BIT:
            entry = self._pending.pop(e.sequence_number, None)
            if entry is not None:
                self._release()
                entry[1](failure.Failure(e))
            return
        resp = BY_COMMAND_ID.get(e.command_id | RESPONSE_BIT)
        if resp is None or e.command_id not in BY_COMMAND_ID:
            resp = GenericNack
        self.transport.write(encode(resp(e.status, e.sequence_number)))

    def _on_response(self, pdu):
        if pdu.command_id == CommandId.generic_nack:
            self.generic_nacks.append(pdu)
        entry = self._pending.pop(pdu.sequence_number, None)
        if entry is None:
            if pdu.command_id != CommandId.generic_nack:
                self.unexpected.append(pdu)
            return
        if self._waiting:
            self._release()
        entry[0](pdu)

    def _on_delivery(self, pdu):
        status = self.deliver_resp_status
        if callable(status):
            status = status(pdu)
        if status is not None:
            resp = _DELIVERY_RESP[pdu.command_id](status, pdu.sequence_number)
            self.transport.write(encode(resp, self.version))
        if self.keep_deliveries:
            self.deliveries.append(pdu)
        if self.on_delivery is not None:
            self.on_delivery(pdu)
        if self._readers:
            self._readers.popleft().callback(pdu)
        elif self.keep_deliveries:
            self._unread.append(pdu)

    # --- requests -----------------------------------------------------------

    def next_sequence(self) -> int:
        self._sequence = self._sequence % SEQUENCE_MAX + 1
        return self._sequence

    @property
    def outstanding(self) -> int:
        """Requests sent and not yet answered."""
        return len(self._pending)

    @property
    def window_free(self) -> int:
        return max(self.window - len(self._pending), 0) if not self._waiting else 0

    def request(self, pdu, on_resp, on_fail, windowed=True):
        """Send a request (its sequence_number is assigned here).

        on_resp(pdu) gets the response; on_fail(failure) a lost connection
        or an undecodable response.  Beyond the window it waits its turn.
        """
        if not self.connected:
            on_fail(failure.Failure(error.ConnectionDone("not connected")))
            return
        if windowed and (self._waiting or len(self._pending) >= self.window):
            self._waiting.append((pdu, on_resp, on_fail))
            return
        self._write_request(pdu, on_resp, on_fail)

    def _write_request(self, pdu, on_resp, on_fail):
        seq = self.next_sequence()
        pdu.sequence_number = seq
        data = encode(pdu, self.version)  # an EncodeError is the caller's bug: raise it
        self._pending[seq] = (on_resp, on_fail)
        self.transport.write(data)

    def _release(self):
        while self._waiting and len(self._pending) < self.window:
            self._write_request(*self._waiting.popleft())

    def send_pdu(self, pdu, windowed=True):
        """Send a request; a Deferred firing with its response (any status)."""
        d = defer.Deferred()
        self.request(pdu, d.callback, d.errback, windowed)
        return d

    def send_raw(self, data: bytes):
        """Write bytes as they are (garbage, hand-made PDUs); nothing is awaited."""
        self.transport.write(data)

    def bind(self, mode, system_id, password, interface_version=INTERFACE_V34, **fields):
        """Bind as "transmitter"/"receiver"/"transceiver" (or tx/rx/trx).

        Fires with the bind response whatever its status; on ESME_ROK the
        client is bound (`mode`, `system_id`) and speaks `interface_version`.
        """
        cls = BIND_CLASSES[mode]
        pdu = cls(system_id=system_id, password=password,
                  interface_version=interface_version, **fields)

        def bound(resp):
            self.bind_resp = resp
            if resp.command_status == Status.ESME_ROK and resp.command_id & RESPONSE_BIT \
                    and resp.command_id != CommandId.generic_nack:
                self.mode = _MODE_NAMES[cls]
                self.system_id = system_id
                self.version = (INTERFACE_V33 if interface_version < INTERFACE_V34
                                else INTERFACE_V34)
            return resp

        return self.send_pdu(pdu, windowed=False).addCallback(bound)

    def submit(self, **fields):
        """submit_sm with these fields (short_message may be str: latin-1).

        Any SubmitSm field goes through as given: schedule_delivery_time and
        validity_period (SMPP times, absolute or relative), tlvs, ...
        """
        return self.send_pdu(SubmitSm(**_text_fields(fields)))

    def query(self, message_id, **fields):
        """query_sm for `message_id`; fires with the query_sm_resp (message_state, ...)."""
        return self.send_pdu(QuerySm(message_id=message_id, **fields))

    def cancel(self, message_id, **fields):
        """cancel_sm for `message_id` (service_type, source_addr, destination_addr as
        keywords); fires with the cancel_sm_resp."""
        return self.send_pdu(CancelSm(message_id=message_id, **fields))

    def replace(self, message_id, short_message, schedule_delivery_time="",
                validity_period="", registered_delivery=0, **fields):
        """replace_sm: the message `message_id` gets this text and these times ("" keeps
        the original's, as the spec says); fires with the replace_sm_resp."""
        return self.send_pdu(ReplaceSm(**_text_fields(dict(
            fields, message_id=message_id, short_message=short_message,
            schedule_delivery_time=schedule_delivery_time, validity_period=validity_period,
            registered_delivery=registered_delivery))))

    def submit_multi(self, destinations, **fields):
        """submit_multi to `destinations`; fires with the submit_multi_resp.

        Each destination is an address (str, with `dest_addr_ton` /
        `dest_addr_npi` from the keywords, default 0), a (ton, npi, addr)
        tuple or SmeDest, or a DistributionList(name).  The other keywords
        are SubmitMulti fields.
        """
        ton = fields.pop("dest_addr_ton", 0)
        npi = fields.pop("dest_addr_npi", 0)
        fields["dest_addresses"] = tuple(_destination(d, ton, npi) for d in destinations)
        return self.send_pdu(SubmitMulti(**_text_fields(fields)))

    def data_sm(self, **fields):
        """data_sm with these fields; `message_payload=` (bytes or str) goes into the
        TLVs, as do the entries of `tlvs`.  Fires with the data_sm_resp."""
        payload = fields.pop("message_payload", None)
        if payload is not None:
            tlvs = dict(fields.get("tlvs") or {})
            tlvs["message_payload"] = (payload.encode("latin-1") if isinstance(payload, str)
                                       else bytes(payload))
            fields["tlvs"] = tlvs
        return self.send_pdu(DataSm(**fields))

    def enquire_link(self):
        return self.send_pdu(EnquireLink(), windowed=False)

    def unbind(self):
        """Send unbind; fires with the unbind_resp, then closes the connection."""
        def close(resp):
            self.transport.loseConnection()
            return resp
        return self.send_pdu(Unbind(), windowed=False).addCallback(close)

    def next_delivery(self):
        """A Deferred firing with the next deliver_sm/data_sm not yet handed out."""
        if self._unread:
            return defer.succeed(self._unread.popleft())
        d = defer.Deferred()
        self._readers.append(d)
        return d

    def disconnect(self):
        """Close the connection without unbinding; fires once it is closed."""
        if self.connected:
            self.transport.loseConnection()
        return self.wait_closed()

    def abort(self):
        """Drop the connection abruptly; fires once it is closed."""
        if self.connected:
            self.transport.abortConnection()
        return self.wait_closed()

    def wait_closed(self):
        """A Deferred firing (with None) once the connection is closed."""
        d = defer.Deferred()

        def closed(result):
            d.callback(None)
            return result

        self.connection_lost.addCallback(closed)
        return d


def _text_fields(fields):
    text = fields.get("short_message")
    if isinstance(text, str):
        fields["short_message"] = text.encode("latin-1")
    return fields


def _destination(dest, ton, npi):
    if isinstance(dest, (SmeDest, DistributionList)):
        return dest
    if isinstance(dest, str):
        return SmeDest(ton, npi, dest)
    ton, npi, addr = dest
    return SmeDest(int(ton), int(npi), addr)


def connect(host, port, mode=None, system_id=None, password=None, *,
            interface_version=INTERFACE_V34, window=DEFAULT_WINDOW,
            deliver_resp_status=Status.ESME_ROK, keep_deliveries=True, reactor=None,
            **bind_fields):
    """Connect over TCP and, if `mode` is given, bind.

    `window` is the client's: how many requests it keeps outstanding.

    Fires with the ESMEClient; fails with BindFailed (the connection then
    closed) when the bind response carries an error.
    """
    if reactor is None:
        from twisted.internet import reactor
    client = ESMEClient(window=window, deliver_resp_status=deliver_resp_status,
                        keep_deliveries=keep_deliveries)
    d = connectProtocol(TCP4ClientEndpoint(reactor, host, port), client)
    if mode is None:
        return d

    def bind(_):
        return client.bind(mode, system_id, password, interface_version, **bind_fields)

    def check(resp):
        if resp.command_status != Status.ESME_ROK:
            client.transport.loseConnection()
            raise BindFailed(resp)
        return client

    return d.addCallback(bind).addCallback(check)
