"""Last writer wins: per-user state that my devices set in the self conversation.

Contacts' states and per-user settings are last-writer-wins per key by the (lamport,
author device) clock of the event that set them. The decision is made while a batch is
applied, against what is stored and what the batch has already decided; the winning
clocks are written with the batch (so a batch that fails to commit decides nothing).
"""

from __future__ import annotations

from kith.p2p.kinds import Batch, Part
from kith.storage import Store


class LastWriterWins(Part):
    """The clocks one batch has decided, written in its transaction."""

    def __init__(self) -> None:
        self.won: dict[str, tuple[int, bytes]] = {}

    def write(self, store: Store) -> None:
        for key, (lamport, author) in self.won.items():
            store.lww_newer(key, lamport, author)


def newer(batch: Batch, store: Store, key: str, lamport: int, author: bytes) -> bool:
    """Does (lamport, author) beat the clock of ``key``? If so it is recorded in the batch."""
    part = batch.part(LastWriterWins, LastWriterWins)
    clock = (lamport, author)
    best = part.won.get(key)
    if best is None:
        best = store.lww_clock(key)
    if best is not None and best >= clock:
        return False
    part.won[key] = clock
    return True
