"""Blocks a download wrote but had not recorded as verified when it stopped.

A block's bit is recorded only after an fsync round (``Fetching._flush``), so a receiver
killed mid-transfer leaves blocks in its partial file that its bitmap lacks; asking for
them again would send them twice. At resume, the partial file's data regions (a partial
file is sparse: a block never written is a hole) tell which of the missing blocks may be
there; those are read and hashed (:meth:`Disk.unrecorded_blocks`), and only a block that
matches its hash in the manifest counts. Where the system cannot tell data from holes,
nothing extra is checked.
"""

from __future__ import annotations

import bisect
import errno
import os

from kith.p2p.files import manifest as mf
from kith.p2p.files import sealing as sl


def data_regions(fd: int) -> list[tuple[int, int]] | None:
    """The (start, end) byte ranges of the file open at ``fd`` that hold data, in order;
    None where SEEK_DATA/SEEK_HOLE are not supported (the fd's position moves)."""
    seek_data, seek_hole = getattr(os, "SEEK_DATA", None), getattr(os, "SEEK_HOLE", None)
    if seek_data is None or seek_hole is None:
        return None
    end = os.fstat(fd).st_size
    regions: list[tuple[int, int]] = []
    at = 0
    while at < end:
        try:
            start = os.lseek(fd, at, seek_data)
        except OSError as e:
            if e.errno == errno.ENXIO:  # (no data from ``at`` on)
                break
            return None
        try:
            stop = os.lseek(fd, start, seek_hole)
        except OSError:
            return None
        if stop <= start:  # (a file system that answers nonsense: trust none of it)
            return None
        regions.append((start, stop))
        at = stop
    return regions


def stored_span(size: int, block_size: int, index: int, sealed: bool) -> tuple[int, int]:
    """Where block ``index`` of a ``size``-byte file lies in its partial file: (start,
    end) in the file's bytes, or (sealed) in its records'."""
    start, length = mf.block_span(size, block_size, index)
    if not sealed:
        return start, start + length
    # (blocks start on a record's boundary; the last record of the file may be shorter)
    return sl.record_offset(start // sl.UNIT), sl.sealed_size(start + length)


def within(regions: list[tuple[int, int]], blocks: list[int], size: int, block_size: int,
           sealed: bool) -> list[int]:
    """Which of ``blocks`` lie wholly in one of ``regions`` (sorted, not overlapping): a
    block partly in a hole was not written whole."""
    starts = [r[0] for r in regions]
    out = []
    for index in blocks:
        lo, hi = stored_span(size, block_size, index, sealed)
        at = bisect.bisect_right(starts, lo) - 1
        if at >= 0 and regions[at][1] >= hi:
            out.append(index)
    return out
