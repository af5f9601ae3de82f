"""File names: a name only, never a path."""

from __future__ import annotations

import pytest

from kith.p2p.files import names


@pytest.mark.parametrize("bad", [
    "", "../etc/passwd", "a/b", "/abs", "..", ".", "a\\b", "nul\0here", "bell\x07",
    " lead", "trail ", "x" * 256, "é" * 128,
])
def test_bad_names_are_refused(bad: str) -> None:
    assert names.problem(bad)


@pytest.mark.parametrize("good", ["photo.jpg", "Ünïcødé 写真.png", ".hidden", "a..b", "x" * 255])
def test_good_names_pass(good: str) -> None:
    assert names.problem(good) is None


@pytest.mark.parametrize(("raw", "clean"), [
    ("/home/me/photo.jpg", "photo.jpg"),
    ("..", "file"),
    ("C:\\Users\\me\\doc.pdf", "doc.pdf"),
    ("tab\there", "tab_here"),
    ("  spaced.txt ", "spaced.txt"),
])
def test_local_names_are_cleaned(raw: str, clean: str) -> None:
    assert names.clean(raw) == clean
    assert names.problem(names.clean(raw)) is None


def test_long_names_keep_their_extension() -> None:
    long = "a" * 300 + ".jpeg"
    out = names.clean(long)
    assert out.endswith(".jpeg") and len(out.encode()) <= names.MAX_NAME
    assert names.problem(out) is None
