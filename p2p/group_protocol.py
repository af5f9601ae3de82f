"""The wire messages of groups (p2p.group_bodies): asking a member's device for the
bodies of events I hold as heads only::

    gbw  [conv, refs]     the bodies of these events of a group, please; refs are
                          (author device, seq), at most MAX_REFS
    gbd  [conv, events]   (head, body) of those the holder has and may pass on to me
"""

from __future__ import annotations

import msgspec

MAX_REFS = 512  # events one gbw may name and one gbd may carry


class BodyWant(msgspec.Struct, tag="gbw", array_like=True, frozen=True):
    conv: bytes
    refs: list[tuple[bytes, int]]


class Bodies(msgspec.Struct, tag="gbd", array_like=True, frozen=True):
    conv: bytes
    events: list[tuple[bytes, bytes]]
