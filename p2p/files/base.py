"""What the parts of the files feature share: its state, entitlement, manifests and
progress events (the feature is :class:`p2p.files.feature.Files`, made of the mixins in
``serving`` and ``fetching`` on top of this)."""

from __future__ import annotations

import collections
import concurrent.futures
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kith.p2p.api import FileChanged
from kith.p2p.files import manifest as mf
from kith.p2p.files.bitmap import Bitmap
from kith.p2p.files.disk import Disk
from kith.p2p.files.hashing import HashWorker
from kith.p2p.files.protocol import FileHave
from kith.p2p.files.transfer import Download, Rate
from kith.storage.files import FILE_COMPLETE, FileRow

if TYPE_CHECKING:
    from kith.p2p.core import Core
    from kith.p2p.network import Peer

log = logging.getLogger("kith.p2p.files.feature")


def describe_size(n: int, bytes_unit: str = "bytes") -> str:
    """A size for people: "812 bytes", "1.5 MB" (``bytes_unit``: "B" where room is short)."""
    size = float(n)
    for unit in (bytes_unit, "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == bytes_unit else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} {bytes_unit}"


@dataclass
class Transfer:
    """A download in progress (its manifest may not be known yet)."""

    file: bytes
    size: int
    block_size: int
    dl: Download | None = None
    rate: Rate = field(default_factory=Rate)
    last_emit: float = 0.0
    dirty: bool = False
    trailing: bool = False  # a progress event is due


@dataclass
class Upload:
    peer_name: str
    sent: int = 0
    rate: Rate = field(default_factory=Rate)
    last: float = 0.0


class FilesBase:
    """The state every part of the feature reads."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.disk = Disk(core.profile, core.options.data_key)
        # what arrives is sealed and written on the hashing thread, through a Disk of its
        # own (only that thread touches it; p2p.files.hashing)
        self.writer = Disk(core.profile, core.options.data_key)
        # blocks served are read (and unsealed) on a thread of their own, likewise
        self.reader = Disk(core.profile, core.options.data_key)
        self._read_pool: concurrent.futures.ThreadPoolExecutor | None = None
        self.transfers: dict[bytes, Transfer] = {}
        self.queues: dict[bytes, collections.deque[tuple[bytes, int]]] = {}
        self.serving: set[bytes] = set()  # devices a serve task runs for
        self.uploads: dict[tuple[bytes, bytes], Upload] = {}  # (device, file) -> upload
        self.served: collections.Counter[bytes] = collections.Counter()  # file -> bytes
        # (device, file) -> bytes sent to that device (for tests and benchmarks)
        self.served_to: collections.Counter[tuple[bytes, bytes]] = collections.Counter()
        self.complete_at: dict[bytes, set[bytes]] = {}  # file -> users holding all of it
        self.held_back: set[bytes] = set()  # files whose sending I paused (not served)
        self._manifests: dict[bytes, mf.Manifest] = {}
        self._flush_due = False
        self._syncing = False  # a round of fsyncs before the bitmaps are recorded runs
        self._rechecking: set[bytes] = set()  # files whose recorded blocks are re-hashed
        self._recovering: set[bytes] = set()  # files whose unrecorded blocks are looked for
        self.hashing = HashWorker()

    # -- what the parts call of each other -----------------------------------------------

    def start(self, file: bytes) -> FileRow:
        raise NotImplementedError

    def _missing(self, file: bytes) -> None:
        raise NotImplementedError

    def _reader_forget(self, file: bytes) -> None:
        raise NotImplementedError

    def forget_view(self, file: bytes) -> None:
        raise NotImplementedError

    def _have(self, file: bytes) -> FileHave:
        raise NotImplementedError

    def have(self, f: FileRow) -> int:
        t = self.transfers.get(f.id)
        if t is not None and t.dl is not None:
            return t.dl.have
        if f.state == FILE_COMPLETE:
            return f.size
        if not f.bitmap:
            return 0
        count = mf.block_count(f.size, f.block_size)
        try:
            return Bitmap(count, f.bitmap).have_bytes(f.size, f.block_size)
        except ValueError:
            return 0

    # -- entitlement ------------------------------------------------------------------------

    def _entitled(self, peer: Peer, file: bytes) -> bool:
        """Is ``peer``'s user a member of a conversation that names ``file``?"""
        user = peer.user_id
        if user is None:
            return False
        convs = self.core.convs
        named = {a.conv for a in self.core.db.attachments_of(file)}
        return any(convs.may_send(user, c) for c in named)


    def _manifest(self, file: bytes) -> mf.Manifest | None:
        m = self._manifests.get(file)
        if m is None:
            row = self.core.db.file(file)
            if row is None or not row.manifest:
                return None
            try:
                m = mf.decode(row.manifest, file)
            except mf.ManifestError:
                return None
            self._manifests[file] = m
        return m

    def _emit(self, file: bytes) -> None:
        row = self.core.db.file(file)
        if row is None:
            return
        t = self.transfers.get(file)
        have = self.have(row)
        rate = t.rate.rate() if t else 0.0
        eta = t.rate.eta(row.size - have) if t else None
        self.core.emit(FileChanged(file, row.state, have, row.size, rate, eta, row.problem))
