"""A database that fails SQLite's own checks: found at open, kept, rebuilt from what reads.

- At every open :func:`quick_check` runs (``PRAGMA quick_check``: every page read once,
  no index cross-check; milliseconds for a usual profile). A database that fails it is
  not opened: the file is copied aside (:func:`keep_copy`, once) and
  :class:`DatabaseDamaged` says what happened and what to do.
- ``kith check`` runs the full ``PRAGMA integrity_check`` (:func:`full_check`), and
  ``kith check --repair`` (:func:`repair`) rebuilds the database from every row that
  can still be read into a fresh one, swaps it in and keeps the damaged file. What was
  lost of the logs comes back from the peers that hold them (my other devices, my
  contacts), as after a restore.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kith.storage import cipher
from kith.storage.rows import DatabaseCorrupt

log = logging.getLogger(__name__)

DAMAGED_SUFFIX = ".damaged"
MAX_PROBLEMS = 10  # lines of a check's answer kept


class DatabaseDamaged(DatabaseCorrupt):
    """The database failed SQLite's integrity check (``copy``: where it was kept)."""

    def __init__(self, message: str, copy: Path | None = None) -> None:
        super().__init__(message)
        self.copy = copy


def _check(conn: Any, pragma: str) -> list[str]:
    try:
        rows = conn.execute(f"PRAGMA {pragma}({MAX_PROBLEMS})").fetchall()
    except cipher.DB_ERRORS as e:
        return [str(e)]
    lines = [str(r[0]) for r in rows]
    return [] if lines == ["ok"] else lines


def quick_check(conn: Any) -> list[str]:
    """What ``PRAGMA quick_check`` finds wrong (empty: nothing)."""
    return _check(conn, "quick_check")


def full_check(conn: Any) -> list[str]:
    """What ``PRAGMA integrity_check`` finds wrong (empty: nothing)."""
    return _check(conn, "integrity_check")


def copy_path(path: Path) -> Path:
    return path.with_name(path.name + DAMAGED_SUFFIX)


def keep_copy(path: Path) -> Path:
    """Copy the damaged database (and its write-ahead log) aside, once: the first copy is
    the one to keep (a later open of the same file copies nothing)."""
    dest = copy_path(path)
    if not dest.exists():
        for suffix in ("", "-wal"):
            src = path.with_name(path.name + suffix)
            if src.exists():
                tmp = dest.with_name(dest.name + suffix + ".tmp")
                shutil.copyfile(src, tmp)
                os.chmod(tmp, 0o600)
                os.replace(tmp, dest.with_name(dest.name + suffix))
    return dest


def damaged_message(path: Path, problems: list[str], copy: Path) -> str:
    what = "; ".join(problems[:3])
    return (
        f"the database {path} is damaged (SQLite's check says: {what}). Kith did not "
        f"open it, so nothing more is lost; a copy is kept at {copy}. Run `kith check "
        "--repair` to rebuild it from everything that can still be read: what is lost "
        "of your conversations comes back from your other devices and your contacts the "
        "next time they are online."
    )


def _open_mark(path: Path) -> Path:
    return path.with_name(path.name + ".open")  # there while a store has it open


def check_due(path: Path) -> bool:
    """Should opening ``path`` run the quick check? When the last session did not close
    it: a crash, kill -9 or a power cut, which is when damage happens. (The quick check
    reads every page: ~40 ms for 100k messages plain, ~130 ms encrypted, seconds for a
    large history: not on every open of every command. ``kith check`` runs the full
    check at any time, and SQLite itself reports a damaged page it reads.)"""
    return _open_mark(path).exists()


def mark_open(path: Path) -> None:
    """The store has ``path`` open (removed by :func:`mark_closed` at a clean close)."""
    with contextlib.suppress(OSError):  # (a read-only folder: the check then runs each time)
        _open_mark(path).touch(mode=0o600)


def mark_closed(path: Path) -> None:
    with contextlib.suppress(OSError):
        _open_mark(path).unlink(missing_ok=True)


def refuse_if_damaged(conn: Any, path: Path) -> None:
    """Raise :class:`DatabaseDamaged` (after keeping a copy) unless the quick check
    passes."""
    problems = quick_check(conn)
    if not problems:
        return
    copy = keep_copy(path)
    log.error("database %s failed its check: %s", path, "; ".join(problems))
    raise DatabaseDamaged(damaged_message(path, problems, copy), copy)


# -- repair -----------------------------------------------------------------------------


@dataclass
class Repaired:
    copy: Path
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows kept
    unread: dict[str, str] = field(default_factory=dict)  # table -> why some were not


def _tables(conn: Any) -> list[str]:
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
        "'sqlite_%'"
    ).fetchall()
    virtual = [n for n, sql in rows if (sql or "").upper().startswith("CREATE VIRTUAL")]
    return [n for n, _ in rows if n not in virtual and not any(
        n.startswith(v + "_") for v in virtual)]


def _columns(conn: Any, table: str) -> tuple[list[str], list[str]]:
    info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
    cols = [r[1] for r in info]
    pk = [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]]
    return cols, pk


def _without_rowid(conn: Any, table: str) -> bool:
    (sql,) = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return "WITHOUT ROWID" in (sql or "").upper()


def _scan(conn: Any, sql: str, problem: list[str]) -> Iterator[tuple[Any, ...]]:
    try:
        for row in conn.execute(sql):
            yield tuple(row)
    except cipher.DB_ERRORS as e:
        problem.append(str(e))


def _copy_table(src: Any, dst: Any, table: str, out: Repaired) -> None:
    """Every readable row of ``table`` (the columns both schemas have), from both ends.
    (Table and column names come from the databases' own schemas.)"""
    theirs, pk = _columns(src, table)
    ours, _ = _columns(dst, table)
    cols = [c for c in theirs if c in ours]
    if not cols:
        return
    names = ", ".join(f'"{c}"' for c in cols)
    # (in the table's own B-tree order: an index's damage must not hide its rows)
    keys = [f'"{c}"' for c in pk] if _without_rowid(src, table) else ["rowid"]
    problem: list[str] = []
    dst.execute(f'DELETE FROM "{table}"')  # noqa: S608 - (the fresh schema's own rows)
    marks = ", ".join("?" for _ in cols)
    insert = f'INSERT OR IGNORE INTO "{table}" ({names}) VALUES ({marks})'  # noqa: S608
    for direction in ("ASC", "DESC"):
        order = ", ".join(f"{k} {direction}" for k in keys)
        select = f'SELECT {names} FROM "{table}" ORDER BY {order}'  # noqa: S608
        dst.executemany(insert, _scan(src, select, problem))
        if not problem:
            break
    (n,) = dst.execute(f'SELECT count(*) FROM "{table}"').fetchone()  # noqa: S608
    out.rows[table] = int(n)
    if problem:
        out.unread[table] = problem[0]


def repair(path: Path, key: bytes | None) -> Repaired:
    """Rebuild the database at ``path`` from what can be read of it: every table is read
    from both ends (a damaged page stops a scan; the other direction reads past it), the
    rows go into a fresh database of the current schema, the search index is rebuilt,
    and the fresh one replaces the damaged one, which is kept (:func:`keep_copy`)."""
    from kith.storage.db import Store

    copy = keep_copy(path)
    fresh = path.with_name(path.name + ".repair")
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            fresh.with_name(fresh.name + suffix).unlink()
    out = Repaired(copy)
    src = cipher.connect(copy, key)
    try:
        dst = Store(fresh, key=key)
        try:
            conn = dst._conn
            mine = set(_tables(conn))
            conn.execute("PRAGMA foreign_keys=OFF")
            conn.execute("BEGIN")
            for table in _tables(src):
                if table in mine:
                    _copy_table(src, conn, table, out)
            (version,) = src.execute("PRAGMA user_version").fetchone()
            conn.execute("COMMIT")
            if "messages" in mine:
                conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')")
                conn.execute("DELETE FROM search_pending")  # (the rebuild took them all)
                dst.key_messages(again=True)  # (the keys of the rows kept, no others)
            if int(version) and int(version) < int(
                conn.execute("PRAGMA user_version").fetchone()[0]
            ):
                log.warning("repaired a schema-%d database into the current schema", version)
        finally:
            dst.close()
    finally:
        src.close()
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            path.with_name(path.name + suffix).unlink()
    os.replace(fresh, path)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            fresh.with_name(fresh.name + suffix).unlink()
    log.warning("database %s repaired at %s: %s", path, time.strftime("%H:%M:%S"), out.rows)
    return out
