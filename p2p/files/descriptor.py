"""The attachment descriptor a message carries.

It says what the file is before any of it arrives: its name, size, MIME type (sniffed
from the content with puremagic, never taken from the name), the picture's width and
height (and a video's duration), a small preview (a JPEG thumbnail of a few KB, made
with Pillow; for a video, of a frame PyAV decodes: ``media``), and the content id with
the block size, which name the manifest to fetch.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from PIL import Image

from kith.p2p.files import manifest, media, names

log = logging.getLogger(__name__)

MAX_PREVIEW = 3000  # bytes of the preview image
PREVIEW_SIDE = 96  # pixels of the preview's longer side (at most)
MAX_MIME = 127
MAX_SIDE = 1 << 16  # pixels
MAX_DURATION = 7 * 24 * 3600 * 1000  # milliseconds
GENERIC = "application/octet-stream"


class Attachment(msgspec.Struct, array_like=True, frozen=True, gc=False):
    id: bytes  # the content id: BLAKE2b-256 of the manifest
    name: str
    size: int
    block_size: int
    mime: str
    width: int = 0  # pixels (pictures and videos; 0: unknown)
    height: int = 0
    duration: int = 0  # milliseconds (audio and video; 0: unknown)
    preview: bytes = b""  # JPEG, at most MAX_PREVIEW bytes

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/")

    @property
    def is_video(self) -> bool:
        """A video we could decode when it was sent (shown as its preview, with a ▶)."""
        return media.is_video_mime(self.mime) and self.duration > 0 and bool(self.preview)


def problem(a: Attachment) -> str | None:
    """Why a descriptor (from the network) is malformed, or None."""
    if len(a.id) != manifest.HASH_SIZE:
        return "bad content id"
    reason = manifest.sizes_problem(a.size, a.block_size) or names.problem(a.name)
    if reason:
        return reason
    if not 0 < len(a.mime) <= MAX_MIME or "/" not in a.mime or not a.mime.isprintable():
        return "bad MIME type"
    if not (0 <= a.width <= MAX_SIDE and 0 <= a.height <= MAX_SIDE):
        return "impossible dimensions"
    if not 0 <= a.duration <= MAX_DURATION:
        return "impossible duration"
    if len(a.preview) > MAX_PREVIEW:
        return "preview too large"
    return None


def sniff_mime(path: Path) -> str:
    """The MIME type of a file from its first bytes (puremagic); generic if unknown."""
    import puremagic

    try:
        with path.open("rb") as f:
            head = f.read(8192)
    except OSError:
        return GENERIC
    if not head:
        return GENERIC
    try:
        found = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        found = []
    for m in found:
        if m.mime_type and "/" in m.mime_type:
            return str(m.mime_type)[:MAX_MIME]
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return GENERIC
    return "text/plain"


def picture_facts(path: Path) -> tuple[int, int, bytes]:
    """(width, height, preview JPEG) of a picture; zeros and b"" if Pillow cannot read it."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            opened.draft("RGB", (PREVIEW_SIDE * 2, PREVIEW_SIDE * 2))
            img: Image.Image = ImageOps.exif_transpose(opened) or opened
            width, height = img.size
            thumb = img.convert("RGB")
            thumb.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as e:
        log.info("no preview of %s: %s", path.name, e)
        return 0, 0, b""
    preview = _preview(thumb)
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        return 0, 0, preview
    return width, height, preview


def _preview(thumb: Image.Image) -> bytes:
    """``thumb`` as a JPEG of at most MAX_PREVIEW bytes (b"" if it cannot be that small)."""
    for quality in (70, 50, 30, 15):
        buf = io.BytesIO()
        thumb.save(buf, "JPEG", quality=quality, optimize=True)
        if buf.tell() <= MAX_PREVIEW:
            return buf.getvalue()
    return b""


def video_facts(path: Path) -> tuple[int, int, int, bytes]:
    """(width, height, duration ms, preview JPEG) of a video; zeros and b"" if it cannot
    be decoded (it is then sent as a file card)."""
    try:
        facts = media.video_facts(path)
    except Exception as e:  # (FFmpeg on any file a user picks: never an error to send)
        log.warning("cannot describe %s as a video (%s: %s): sent as a file card",
                    path.name, type(e).__name__, e)
        facts = None
    if facts is None or facts.picture is None:
        return 0, 0, 0, b""
    thumb = facts.picture.convert("RGB")
    thumb.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    preview = _preview(thumb)
    width, height = facts.width, facts.height
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        width = height = 0
    duration = facts.duration if 0 < facts.duration <= MAX_DURATION else 0
    return width, height, duration, preview


def describe(path: Path, m: manifest.Manifest, name: str | None = None) -> Attachment:
    """The descriptor of the local file at ``path`` with manifest ``m``."""
    mime = sniff_mime(path)
    width = height = duration = 0
    preview = b""
    if mime.startswith("image/"):
        width, height, preview = picture_facts(path)
    elif media.is_video_mime(mime):
        width, height, duration, preview = video_facts(path)
    return Attachment(
        m.content_id, names.clean(name or path.name), m.size, m.block_size, mime,
        width, height, duration, preview,
    )
