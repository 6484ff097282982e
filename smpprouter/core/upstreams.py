"""What the core needs to know of each upstream connector, read once from its config.

The core decides with these values and never reads a connector's config
itself: how the upstream writes message ids (for correlation), how long a
receipt may wait for its mapping, how long a mapping lives.
"""

from dataclasses import dataclass

from ..ids import key_forms
from ..receiptmap import ReceiptMap


@dataclass(frozen=True, slots=True)
class Upstream:
    name: str
    resp_form: str        # how submit_sm_resp ids are normalised (ids.key_forms)
    receipt_form: str     # how receipt ids are normalised
    receipt_wait: float   # seconds a receipt that beat its mapping is looked up again
    park_limit: int       # receipts that may wait long for a mapping at once
    dlr_expiry: int       # seconds a mapping (and a sent message's record) lives
    capacity: int         # requests it can have in flight: binds x window
    # core/multipart.py: the octets of one SMS when the router splits what does
    # not fit (0: it takes message_payload, nothing is split), and how
    splits: int = 0
    split: str = "udh8"
    receipt_map: ReceiptMap | None = None   # its stat/err to the users' (None: as sent)
    receipt_timeout: int = 0   # seconds until the router's own receipt (0: never)

    @classmethod
    def from_config(cls, c):
        resp_form, receipt_form = key_forms(c.resp_id, c.receipt_id)
        return cls(c.name, resp_form, receipt_form, c.receipt_wait,
                   max(1, c.window * c.binds // 2), c.dlr_expiry, c.window * c.binds,
                   0 if c.message_payload else c.max_octets, c.split,
                   ReceiptMap(c.receipt_map) if c.receipt_map else None,
                   c.receipt_timeout)
