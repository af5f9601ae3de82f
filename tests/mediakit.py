"""Small videos for tests, made with PyAV itself (no fixture binaries)."""

from __future__ import annotations

from pathlib import Path

import av
from PIL import Image


def make_video(path: Path, *, width: int = 64, height: int = 48, seconds: float = 2.0,
               fps: int = 10, black: int = 3, container: str = "mp4",
               codec: str = "mpeg4", rotation: int = 0) -> Path:
    """A video of ``seconds`` at ``fps``: ``black`` black frames, then frames of a red
    square on blue (what a preview must show); ``rotation``: the degrees counterclockwise
    a player turns it (as phones record portrait videos)."""
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        if rotation:
            stream.set_display_rotation(rotation)
        for n in range(round(seconds * fps)):
            img = Image.new("RGB", (width, height), (0, 0, 0) if n < black else (20, 40, 200))
            if n >= black:
                img.paste((220, 30, 30), (width // 4, height // 4, width // 2, height // 2))
            frame = av.VideoFrame.from_image(img)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path
