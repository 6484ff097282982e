"""The router core: admission, the MT paths, receipts and MO, between the faces and the store.

Kept empty of imports so that `core.messages` (the values the faces share
with the core) can be imported by the protocol layer without pulling in the
core itself.
"""
