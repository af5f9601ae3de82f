"""The wire messages of the file transfer (pull: the receiver asks for each block).

::

    fq    FileQuery{file}                    what do you hold of this file?
    fh    FileHave{file, manifest, bitmap, complete}
                                             the answer (and news when I complete it):
                                             manifest b"": I do not know it; bitmap: the
                                             blocks I hold (b"" when complete or none)
    fget  BlockRequest{file, index}          send me block ``index``
    fblk  BlockPiece{file, index, offset, data}
                                             a piece of a block, at most PIECE bytes, the
                                             pieces of one block in order, back to back
    fno   BlockRefused{file, index, reason}  I will not or cannot send it
    fstop FileStop{file}                     forget my requests of this file

Every message of a file is answered only to devices of a user entitled to a
conversation that names the file; anything else gets ``fno`` (or silence for ``fq``).
"""

from __future__ import annotations

import msgspec

# Bytes of block data per frame: one BlockPiece fits in one Noise frame (65535 bytes,
# with room for its header), so blocks travel as frames of at most 64 KiB.
PIECE = 63 * 1024


class FileQuery(msgspec.Struct, tag="fq", array_like=True, frozen=True):
    file: bytes


class FileHave(msgspec.Struct, tag="fh", array_like=True, frozen=True):
    file: bytes
    manifest: bytes
    bitmap: bytes
    complete: bool


class BlockRequest(msgspec.Struct, tag="fget", array_like=True, frozen=True):
    file: bytes
    index: int


class BlockPiece(msgspec.Struct, tag="fblk", array_like=True, frozen=True):
    file: bytes
    index: int
    offset: int  # within the block
    data: bytes


class BlockRefused(msgspec.Struct, tag="fno", array_like=True, frozen=True):
    file: bytes
    index: int
    reason: str


class FileStop(msgspec.Struct, tag="fstop", array_like=True, frozen=True):
    file: bytes
