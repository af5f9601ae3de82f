"""The attachment descriptor: MIME from the content, previews, limits."""

from __future__ import annotations

import io
from pathlib import Path

import msgspec
import pytest
from PIL import Image

from kith.p2p.files import descriptor as desc
from kith.p2p.files import manifest as mf


def _png(path: Path, size: tuple[int, int]) -> Path:
    img = Image.new("RGB", size)
    for x in range(0, size[0], 7):
        for y in range(0, size[1], 5):
            img.putpixel((x, y), (x % 256, y % 256, (x * y) % 256))
    img.save(path, "PNG")
    return path


def test_picture_gets_its_dimensions_and_a_small_preview(tmp_path: Path) -> None:
    path = _png(tmp_path / "named.txt", (640, 480))  # (the name lies: MIME is sniffed)
    a = desc.describe(path, mf.scan(path))
    assert a.mime == "image/png" and (a.width, a.height) == (640, 480)
    assert 0 < len(a.preview) <= desc.MAX_PREVIEW
    thumb = Image.open(io.BytesIO(a.preview))
    assert thumb.format == "JPEG" and max(thumb.size) <= desc.PREVIEW_SIDE
    assert abs(thumb.size[0] / thumb.size[1] - 640 / 480) < 0.05
    assert desc.problem(a) is None


def test_other_files_get_a_type_and_no_preview(tmp_path: Path) -> None:
    pdf = tmp_path / "doc"
    pdf.write_bytes(b"%PDF-1.7\n" + b"x" * 1000)
    assert desc.describe(pdf, mf.scan(pdf)).mime == "application/pdf"
    txt = tmp_path / "a.bin"
    txt.write_text("just some words\n")
    a = desc.describe(txt, mf.scan(txt))
    assert a.mime == "text/plain" and a.preview == b"" and a.width == 0
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(bytes(range(256)) * 4 + b"\xff\xfe")
    assert desc.describe(junk, mf.scan(junk)).mime == desc.GENERIC


def test_a_broken_picture_still_sends(tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50)
    a = desc.describe(bad, mf.scan(bad))
    assert a.mime == "image/png" and a.preview == b"" and (a.width, a.height) == (0, 0)


def _ok() -> desc.Attachment:
    return desc.Attachment(b"\x01" * 32, "a.jpg", 1000, mf.MIN_BLOCK, "image/jpeg", 10, 10)


@pytest.mark.parametrize("change", [
    {"id": b"\x01" * 31},
    {"name": "../x"}, {"name": "a/b"}, {"name": "a\0b"}, {"name": ""},
    {"size": -5}, {"size": mf.MAX_FILE + 1},
    {"block_size": 4096},
    {"mime": ""}, {"mime": "nonsense"}, {"mime": "a/\nb"},
    {"width": -1}, {"height": 1 << 20},
    {"duration": -1},
    {"preview": b"x" * (desc.MAX_PREVIEW + 1)},
])
def test_malformed_descriptors_are_refused(change: dict) -> None:
    assert desc.problem(_ok()) is None
    assert desc.problem(msgspec.structs.replace(_ok(), **change))
