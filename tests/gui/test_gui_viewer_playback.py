"""The viewer plays a real video with Qt Multimedia (the `video` extra: PySide6-Addons):
it loads, a frame reaches the screen, play and pause work, and closing the viewer stops
the player and lets its threads go; a file it cannot play shows its frame and offers the
system's player. The clips are made here with PyAV (H.264, what phones record, and VP8 in
WebM); they have no audio track, so no audio device is needed."""

from __future__ import annotations

import os

import pytest

pytest.importorskip(
    "PySide6.QtMultimedia",
    reason="no Qt Multimedia here: install the `video` extra (PySide6-Addons); on Linux it "
    "also needs libpulse.so.0 (Debian: libpulse0)",
    exc_type=ImportError,  # (not only a missing module: a missing library it links, too)
)

from mediakit import make_video  # noqa: E402
from PySide6.QtCore import Qt, QThreadPool  # noqa: E402
from PySide6.QtMultimedia import QMediaPlayer  # noqa: E402

from kith.app.gui import viewer  # noqa: E402
from kith.app.gui.filebubbles import Item  # noqa: E402
from kith.p2p.files.descriptor import Attachment, sniff_mime, video_facts  # noqa: E402

Status = QMediaPlayer.MediaStatus
State = QMediaPlayer.PlaybackState


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


def _item(path) -> Item:
    width, height, duration, preview = video_facts(path)
    att = Attachment(b"\x01" * 32, path.name, path.stat().st_size, 65536, sniff_mime(path),
                     width, height, duration, preview)
    item = Item(att, {"state": "complete", "path": str(path)})
    assert item.video, att  # (PyAV described it as a video)
    return item


# (as tests/gui/conftest.py's OFFSCREEN_NOISE and MULTIMEDIA_NOISE, which a test's own
# qt_log_ignore replaces)
MACHINE = ("propagateSizeHints", "Couldn't (load|resolve) (pipewire|va)", "PulseAudioService",
           "No RHI backend")


@pytest.mark.parametrize(("name", "codec", "container"), [
    ("clip.mp4", "libx264", "mp4"), ("clip.webm", "libvpx", "webm")])
def test_the_viewer_plays_pauses_and_releases_a_real_video(
    qtbot, tmp_path, name, codec, container
):
    clip = make_video(tmp_path / name, width=64, height=48, seconds=1, black=0, codec=codec,
                      container=container)
    before = _threads()
    v = viewer.PhotoViewer([_item(clip)], 0)
    qtbot.addWidget(v)
    v.show()
    qtbot.waitUntil(v.isVisible)
    player = v.player
    assert player is not None and v.stack.currentWidget() is v.picture  # its frame, meanwhile
    frames: list = []
    player.videoSink().videoFrameChanged.connect(
        lambda f: frames.append(f.size()) if f.isValid() else None)
    qtbot.waitUntil(lambda: player.mediaStatus() in (
        Status.LoadedMedia, Status.BufferedMedia, Status.EndOfMedia), timeout=30000)
    assert player.error() == QMediaPlayer.Error.NoError, player.errorString()
    assert player.hasVideo() and not player.hasAudio()
    assert v.stack.currentWidget() is v.video
    qtbot.waitUntil(lambda: bool(frames), timeout=30000)  # a decoded frame reached the widget
    assert frames[0].width() == 64 and frames[0].height() == 48

    qtbot.mouseClick(v.play_button, Qt.MouseButton.LeftButton)  # playing: the button pauses
    qtbot.waitUntil(lambda: player.playbackState() == State.PausedState)
    assert "Play" in v.play_button.text()
    qtbot.mouseClick(v.play_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: player.playbackState() == State.PlayingState
                    or player.mediaStatus() == Status.EndOfMedia)

    v.close()
    qtbot.waitUntil(lambda: player.playbackState() == State.StoppedState)
    assert player.source().isEmpty()  # the file is let go (no open handle on it)
    # The decoding threads end with the file; Qt's pool keeps its idle workers for 30 s:
    QThreadPool.globalInstance().waitForDone()
    qtbot.waitUntil(lambda: _threads() <= before)


@pytest.mark.qt_log_ignore(*MACHINE, "Could not open media")  # (the damage, as expected)
def test_a_video_the_player_fails_on_shows_its_frame_and_offers_the_system_player(
    qtbot, tmp_path, monkeypatch
):
    clip = make_video(tmp_path / "clip.mp4", codec="libx264", seconds=1)
    item = _item(clip)  # (described while it was whole; then damaged on disk)
    clip.write_bytes(clip.read_bytes()[:64] + bytes(4096))
    opened: list = []
    monkeypatch.setattr(viewer, "open_outside", lambda it: opened.append(it) or True)
    v = viewer.PhotoViewer([item], 0)
    qtbot.addWidget(v)
    v.show()
    qtbot.waitUntil(lambda: "cannot be played here" in v.caption.text(), timeout=30000)
    assert v.stack.currentWidget() is v.picture
    assert not v.picture.pixmap().isNull()  # its preview frame, not a black rectangle
    assert v.play_button.text() == "▶ Open in the system's player"
    assert v.player.source().isEmpty()
    qtbot.mouseClick(v.play_button, Qt.MouseButton.LeftButton)
    assert [it.file for it in opened] == [item.file]
    v.close()


def test_a_photo_after_a_video_lets_the_video_go(qtbot, tmp_path):
    from PIL import Image

    photo = tmp_path / "p.png"
    Image.new("RGB", (30, 20), (0, 200, 0)).save(photo)
    att = Attachment(b"\x02" * 32, "p.png", photo.stat().st_size, 65536, "image/png", 30, 20)
    clip = make_video(tmp_path / "clip.mp4", codec="libx264", seconds=1)
    v = viewer.PhotoViewer([_item(clip), Item(att, {"path": str(photo)})], 0)
    qtbot.addWidget(v)
    v.show()
    qtbot.waitUntil(lambda: v.player.playbackState() == State.PlayingState
                    or v.player.mediaStatus() == Status.EndOfMedia, timeout=30000)
    qtbot.keyClick(v, Qt.Key.Key_Right)
    assert v.current.att.name == "p.png" and v.stack.currentWidget() is v.picture
    assert v.player.playbackState() == State.StoppedState and v.player.source().isEmpty()
    v.close()
