"""What a video's descriptor says of it: picture size, duration, a preview frame.

Decoded with PyAV (``av``: its wheels bundle FFmpeg, no system package needed). The
preview is the first frame that is not (nearly) black among the first seconds, else the
frame at about one second. A file PyAV cannot open or decode gets no facts (zeros): it
is sent as a file card, never refused. PyAV is optional: without it, videos are cards.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

SCAN_SECONDS = 3.0  # frames looked at for a preview that is not black
AT_SECONDS = 1.0  # the preview when every frame scanned is black
MAX_FRAMES = 120  # frames decoded at most
DARK = 16  # the brightest pixel of a black frame is at most this (0..255)
FRAME_SIDE = 192  # frames are scaled to at most this (the preview is smaller still)


class VideoFacts:
    """(width, height, duration in ms, preview picture or None) of a video."""

    __slots__ = ("duration", "height", "picture", "width")

    def __init__(self, width: int, height: int, duration: int,
                 picture: Image.Image | None) -> None:
        self.width, self.height, self.duration, self.picture = width, height, duration, picture


def is_video_mime(mime: str) -> bool:
    """A type worth trying to decode as a video (MP4/QuickTime/Matroska/WebM/AVI...)."""
    return mime.startswith("video/") or mime in ("application/mp4", "application/x-matroska")


def _dark(img: Image.Image) -> bool:
    lo_hi = img.convert("L").getextrema()
    return int(lo_hi[1]) <= DARK  # type: ignore[arg-type]


def _turn(frame: object) -> int:
    """The frame's display rotation, 0, 90, 180 or 270 (degrees counterclockwise)."""
    try:
        degrees = int(getattr(frame, "rotation", 0) or 0)
    except (TypeError, ValueError):
        return 0
    return (round(degrees / 90) * 90) % 360


def _scaled(width: int, height: int) -> dict[str, int]:
    """The reformat size of a frame: its longer side at most FRAME_SIDE, same shape."""
    longer = max(width, height, 1)
    if longer <= FRAME_SIDE:
        return {}
    return {"width": max(1, round(width * FRAME_SIDE / longer)),
            "height": max(1, round(height * FRAME_SIDE / longer))}


def video_facts(path: Path) -> VideoFacts | None:
    """The facts of the video at ``path``, or None if it has no decodable video stream."""
    try:
        import av
    except ImportError:
        log.info("PyAV is not installed: %s is sent as a file card", path.name)
        return None
    try:
        with av.open(str(path)) as container:
            streams = container.streams.video
            if not streams:
                return None
            stream = streams[0]
            stream.thread_type = "AUTO"
            width = int(stream.codec_context.width or 0)
            height = int(stream.codec_context.height or 0)
            duration = 0
            if stream.duration is not None and stream.time_base is not None:
                duration = int(stream.duration * stream.time_base * 1000)
            elif container.duration is not None:
                duration = int(container.duration * 1000 // av.time_base)
            picture: Image.Image | None = None
            fallback: Image.Image | None = None
            turn = 0  # degrees counterclockwise the player turns the frames (phones)
            for n, frame in enumerate(container.decode(stream)):
                t = float(frame.time) if frame.time is not None else 0.0
                img = frame.to_image(**_scaled(frame.width, frame.height))
                turn = _turn(frame)
                if turn:
                    img = img.rotate(turn, expand=True)
                if fallback is None or t <= AT_SECONDS:
                    fallback = img
                if not _dark(img):
                    picture = img
                    break
                if t >= SCAN_SECONDS or n >= MAX_FRAMES:
                    break
            picture = picture or fallback
            if turn in (90, 270):
                width, height = height, width  # (shown upright, as players show it)
            if picture is not None and not (width and height):
                width, height = picture.size
    except (av.FFmpegError, OSError, ValueError, RuntimeError, MemoryError) as e:
        log.info("cannot decode %s as a video (%s): sent as a file card", path.name, e)
        return None
    if picture is None:
        log.info("no frame in %s: sent as a file card", path.name)
        return None
    return VideoFacts(width, height, max(0, duration), picture)


def duration_text(ms: int) -> str:
    """A duration for people: "0:07", "12:34", "1:02:03"."""
    s = max(0, round(ms / 1000))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"
