"""Videos in descriptors: picture size, duration and a preview frame made with PyAV; a
video that cannot be decoded is a file card."""

from __future__ import annotations

import io
from pathlib import Path

from mediakit import make_video
from PIL import Image

from kith.p2p.files import descriptor as desc
from kith.p2p.files import manifest as mf
from kith.p2p.files import media


def test_a_video_gets_its_size_duration_and_a_preview_past_the_black_frames(
    tmp_path: Path,
) -> None:
    path = make_video(tmp_path / "clip.mp4", width=96, height=54, seconds=2.5, black=4)
    a = desc.describe(path, mf.scan(path), "holiday.mp4")
    assert a.mime == "video/mp4" and (a.width, a.height) == (96, 54)
    assert abs(a.duration - 2500) <= 100 and a.is_video and not a.is_image
    assert 0 < len(a.preview) <= desc.MAX_PREVIEW and desc.problem(a) is None
    thumb = Image.open(io.BytesIO(a.preview)).convert("RGB")
    assert abs(thumb.size[0] / thumb.size[1] - 96 / 54) < 0.05
    # Not one of the black frames: the blue background with its red square.
    r, g, b = thumb.getpixel((2, 2))  # type: ignore[misc]
    assert b > 150 and r < 80
    r, g, b = thumb.getpixel((thumb.size[0] * 3 // 8, thumb.size[1] * 3 // 8))  # type: ignore[misc]
    assert r > 150 and b < 100


def test_an_all_black_video_still_gets_a_preview_near_one_second(tmp_path: Path) -> None:
    path = make_video(tmp_path / "night.mkv", seconds=4, black=40, container="matroska")
    facts = media.video_facts(path)
    assert facts is not None and facts.picture is not None
    assert facts.picture.convert("L").getextrema()[1] <= media.DARK
    a = desc.describe(path, mf.scan(path))
    assert a.mime == "video/x-matroska" and a.is_video and abs(a.duration - 4000) <= 100


def test_a_portrait_video_from_a_phone_is_described_upright(tmp_path: Path) -> None:
    # recorded 96x54 with a display rotation of 90 degrees: players show it 54x96
    path = make_video(tmp_path / "phone.mp4", width=96, height=54, black=0, rotation=90)
    a = desc.describe(path, mf.scan(path))
    assert (a.width, a.height) == (54, 96)
    thumb = Image.open(io.BytesIO(a.preview)).convert("RGB")
    assert thumb.size == (54, 96)  # upright, like the frame a player shows
    # turned a quarter counterclockwise: the red square (x 24..48, y 13..27 as recorded)
    # is now at x 13..27, y 48..72
    r, g, b = thumb.getpixel((20, 60))  # type: ignore[misc]
    assert r > 150 and b < 100, (r, g, b)
    r, g, b = thumb.getpixel((40, 30))  # type: ignore[misc]
    assert b > 150 and r < 80, (r, g, b)


def test_a_video_that_cannot_be_decoded_is_a_file_card(tmp_path: Path) -> None:
    good = make_video(tmp_path / "good.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(good[:200])  # the header says MP4, the rest is gone
    a = desc.describe(cut, mf.scan(cut))
    assert a.mime == "video/mp4"
    assert (a.width, a.height, a.duration, a.preview) == (0, 0, 0, b"")
    assert not a.is_video and desc.problem(a) is None


def test_a_decoder_that_breaks_unexpectedly_still_sends_a_card(tmp_path: Path, monkeypatch,
                                                               caplog) -> None:
    path = make_video(tmp_path / "v.mp4")

    def broken(p: Path) -> None:
        raise KeyError("something inside the decoder")

    monkeypatch.setattr(media, "video_facts", broken)
    a = desc.describe(path, mf.scan(path))
    assert a.mime == "video/mp4" and not a.is_video and a.preview == b""
    assert "sent as a file card" in caplog.text


def test_without_pyav_videos_are_cards(tmp_path: Path, monkeypatch) -> None:
    import sys

    path = make_video(tmp_path / "v.mp4")
    monkeypatch.setitem(sys.modules, "av", None)  # (import av raises ImportError)
    a = desc.describe(path, mf.scan(path))
    assert a.mime == "video/mp4" and not a.is_video and a.duration == 0


def test_durations_for_people() -> None:
    assert [media.duration_text(ms) for ms in (0, 7400, 754_000, 3_723_000)] == [
        "0:00", "0:07", "12:34", "1:02:03"]
