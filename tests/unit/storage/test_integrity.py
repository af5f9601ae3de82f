"""A database that fails SQLite's integrity check (hardening #13): never opened without a
word; a copy is kept; `repair` keeps every row that still reads."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from kith.storage import Store, integrity
from kith.storage.integrity import DatabaseDamaged

KEY = bytes(range(32))


def _fill(path: Path, key: bytes | None) -> None:
    store = Store(path, key=key)
    for i in range(400):
        store.set_setting(f"k{i:03}", "x" * 200)
    store.close()
    assert not path.with_name(path.name + "-wal").exists()


def _damage(path: Path, key: bytes | None = None) -> None:
    """Overwrite one leaf page of the settings, written last (a bad disk block): the
    first page from the end whose loss leaves the first and the last setting and most of
    the others readable from one end or the other (where the settings' inner pages fall
    depends on the rest of the schema, and an encrypted file cannot be inspected)."""
    size = 8192 if os.path.getsize(path) % 8192 == 0 else 4096
    original = path.read_bytes()
    for back in range(3, 40):
        page = len(original) // size - back
        damaged = bytearray(original)
        damaged[page * size + 100: page * size + size - 100] = random.Random(back).randbytes(
            size - 200)  # (the same garbage every run)
        path.write_bytes(bytes(damaged))
        if len(_readable(path, key)) >= 300:
            # (damage comes with a session that did not end: a power cut, a crash)
            path.with_name(path.name + ".open").touch()
            return
    raise AssertionError("no leaf page of the settings found to damage")


def _readable(path: Path, key: bytes | None) -> list[str]:
    """The settings a scan from either end still reads (as the repair reads them)."""
    from kith.storage import cipher

    conn = cipher.connect(path, key)
    found: set[str] = set()
    try:
        for direction in ("ASC", "DESC"):
            try:
                for (k,) in conn.execute(f"SELECT key FROM settings ORDER BY rowid {direction}"):
                    found.add(k)
            except cipher.DATABASE_ERRORS:
                pass
    finally:
        conn.close()
    out = sorted(found)
    return out if out[:1] == ["k000"] and out[-1:] == ["k399"] else []


@pytest.mark.parametrize("key", [None, KEY], ids=["plain", "encrypted"])
def test_a_damaged_database_is_refused_with_what_to_do_and_a_copy(tmp_path, key) -> None:
    path = tmp_path / "kith.db"
    _fill(path, key)
    _damage(path, key)
    before = path.read_bytes()
    with pytest.raises(DatabaseDamaged) as got:
        Store(path, key=key)
    message = str(got.value)
    assert "damaged" in message and "kith check --repair" in message
    assert got.value.copy == integrity.copy_path(path)
    assert got.value.copy.read_bytes() == before  # the copy is the file as it was
    assert path.read_bytes() == before  # and the file itself was left alone
    assert oct(got.value.copy.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(DatabaseDamaged):  # (every open says so, the first copy stays)
        Store(path, key=key)


@pytest.mark.parametrize("key", [None, KEY], ids=["plain", "encrypted"])
def test_repair_keeps_every_row_that_reads_and_the_database_opens(tmp_path, key) -> None:
    path = tmp_path / "kith.db"
    _fill(path, key)
    _damage(path, key)
    done = integrity.repair(path, key)
    store = Store(path, key=key)  # (opens: it passes the check now)
    try:
        assert integrity.full_check(store._conn) == []
        kept = [k for k in (f"k{i:03}" for i in range(400)) if store.get_setting(k)]
    finally:
        store.close()
    # at most the rows of the damaged page are gone (none if it was an index's page)
    assert len(kept) >= 300 and done.rows["settings"] == len(kept)
    assert kept[0] == "k000" and kept[-1] == "k399"  # read from both ends of the damage
    assert ("settings" in done.unread) == (len(kept) < 400)
    assert done.copy.exists()


def test_a_sound_database_passes_both_checks(tmp_path) -> None:
    path = tmp_path / "kith.db"
    _fill(path, None)
    store = Store(path)
    try:
        assert integrity.quick_check(store._conn) == []
        assert integrity.full_check(store._conn) == []
    finally:
        store.close()
    assert not integrity.copy_path(path).exists()


def test_the_quick_check_runs_after_an_unclean_end_not_on_every_open(
        tmp_path, monkeypatch) -> None:
    """It reads every page (seconds for a large history): not for every command."""
    path = tmp_path / "kith.db"
    Store(path).close()
    runs = []
    real = integrity.quick_check
    monkeypatch.setattr(integrity, "quick_check", lambda conn: runs.append(1) or real(conn))
    Store(path).close()  # the last session closed it: no check
    assert runs == []
    crashed = Store(path)  # left open, as by kill -9 or a power cut
    crashed._conn.close()
    assert integrity.check_due(path)
    Store(path).close()
    assert runs == [1]
    assert not integrity.check_due(path)
