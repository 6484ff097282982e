"""Codec throughput on one core, against smpplib's generic codec in the same run.

Figures from one process on a shared machine drift; the ratio to smpplib,
measured seconds apart, drifts much less, so both are printed.

    python -m bench.codec [--seconds 0.5]
"""

import argparse
import timeit

from smpprouter.smpp import codec
from smpprouter.smpp.pdu import DeliverSm, SubmitSm

TARGET_DECODES = 150_000
TARGET_ENCODES = 200_000

SUBMIT = SubmitSm(
    sequence_number=1, source_addr_ton=5, source_addr="MyBrand", dest_addr_ton=1, dest_addr_npi=1,
    destination_addr="447700900123", registered_delivery=1, data_coding=0,
    short_message=(b"The quick brown fox jumps over the lazy dog. " * 4)[:160],
)
assert len(SUBMIT.short_message) == 160, len(SUBMIT.short_message)

RECEIPT = DeliverSm(
    sequence_number=2, source_addr_ton=1, source_addr_npi=1, source_addr="447700900123",
    destination_addr="MyBrand", esm_class=0x04, data_coding=0,
    short_message=b"id:7f3c2a9e0b1d4c55 sub:001 dlvrd:001 submit date:2611221530 "
                  b"done date:2611221531 stat:DELIVRD err:000 text:The quick brown fox",
    tlvs={"receipted_message_id": "7f3c2a9e0b1d4c55", "message_state": 2},
)


def rate(fn, seconds):
    """Operations per second: the best of five runs of about `seconds` each."""
    number = max(1, int(seconds / max(timeit.timeit(fn, number=200) / 200, 1e-9)))
    best = min(timeit.repeat(fn, number=number, repeat=5))
    return number / best


def smpplib_pair(pdu, wire):
    try:
        import smpplib.smpp
    except ImportError:
        return None

    class Client:  # smpplib asks its client for sequence numbers
        def next_sequence(self):
            return 1

    client = Client()
    name = "submit_sm" if isinstance(pdu, SubmitSm) else "deliver_sm"
    fields = {k: getattr(pdu, k) for k in (
        "source_addr_ton", "source_addr_npi", "dest_addr_ton", "dest_addr_npi", "esm_class",
        "registered_delivery", "data_coding", "short_message")}
    fields["source_addr"] = pdu.source_addr
    fields["destination_addr"] = pdu.destination_addr
    fields.update(pdu.tlvs)
    return (lambda: smpplib.smpp.parse_pdu(wire, client=client),
            lambda: smpplib.smpp.make_pdu(name, client=client, **fields).generate())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.3)
    args = parser.parse_args()
    ok = True
    print("%-28s %12s %12s %14s %8s" % ("one core", "ours/s", "smpplib/s", "ratio", "target"))
    for label, pdu in (("submit_sm 160 chars", SUBMIT), ("deliver_sm receipt", RECEIPT)):
        wire = codec.encode(pdu)
        assert codec.decode(wire)[0] == pdu
        ours_dec = rate(lambda: codec.decode(wire), args.seconds)
        ours_enc = rate(lambda: codec.encode(pdu), args.seconds)
        other = smpplib_pair(pdu, wire)
        theirs = [rate(fn, args.seconds) for fn in other] if other else [float("nan")] * 2
        for op, ours, them, target in (("decode", ours_dec, theirs[0], TARGET_DECODES),
                                       ("encode", ours_enc, theirs[1], TARGET_ENCODES)):
            met = ours >= target
            ok &= met
            print("%-28s %12.0f %12.0f %13.1fx %8s" % (
                "%s %s" % (op, label), ours, them, ours / them, "%dk %s" % (
                    target // 1000, "ok" if met else "MISSED")))
    print("codec targets", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
