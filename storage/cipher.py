"""The profile database encrypted at rest (SQLCipher), and moving a plain one into it.

:func:`connect` opens a database with a raw 256-bit key (no passphrase stretching here:
the key is random, see ``p2p.keystore``) and SQLCipher 4's defaults (AES-256-CBC,
HMAC-SHA512 per page), or in plain SQLite when the key is None. A wrong key raises
:class:`WrongKey`, never SQLite's "file is not a database".

:func:`migrate_plain` turns a plain profile database into an encrypted one. The steps,
each safe to interrupt (kill -9) at any point; :func:`clean_up` finishes or undoes an
interrupted one and runs every time an encrypted store opens::

    plain kith.db --(1) fold the log in, wipe kith.db-wal/-shm--> plain kith.db (1 file)
                  --(2) sqlcipher_export--> kith.db.encrypting
                  --(3) compare every row of every table, fsync-->
                  --(4) link kith.db -> kith.db.plain-old; rename .encrypting -> kith.db-->
                  --(5) overwrite kith.db.plain-old with zeros, fsync, unlink

Until (4) renames, kith.db is the plain database and nothing else counts (a leftover
.encrypting is deleted); after it, kith.db is the checked encrypted copy and a leftover
.plain-old is only plaintext to wipe. Overwriting is best effort: on SSDs and
copy-on-write file systems old blocks can survive; full-disk encryption covers that.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import sqlcipher3.dbapi2 as sqlcipher  # type: ignore[import-untyped]

from kith.storage.rows import DatabaseCorrupt, StorageError

# sqlcipher3's binding (a copy of an older Python's sqlite3 module) binds only int, float,
# str and bytearray directly; bytes and None, most of Kith's parameters (ids, keys,
# bodies), go through the adaptation protocol's failing lookups: executemany of such rows
# ran at half the stdlib's speed (measured: 200k rows of 4 blobs 1.09 s, stdlib 0.71 s).
# An adapter registered for exactly these types is found at the first lookup and returns
# its argument as it is (bytes(b) is b; object.__init__(None) is None): 0.48 s. Only
# sqlcipher3's connections are affected; the stored values are the same.
sqlcipher.register_adapter(bytes, bytes)
sqlcipher.register_adapter(type(None), object.__init__)

KEY_BYTES = 32
# SQLCipher settings of Kith's files, set on every connection right after the key (they
# are part of the format: tests/fixtures/profile-encrypted-1 holds files of this one).
# HMAC-SHA256 instead of SQLCipher 4's default HMAC-SHA512 (both keyed with 256 bits,
# both far beyond reach): where the CPU has SHA extensions it costs less per page, and
# the store's encrypted writes take about 16 % less CPU (tests/bench/bench_cipher.py).
# Where the rest of the cost goes (measured with perf, issue 16): AES-256-CBC and the
# HMAC of every page written to the log, about 1.7 ns per byte plus ~1.3 us per page;
# reading, the checkpoints (they copy encrypted frames as they are) and opening (a raw
# key: no PBKDF2) cost next to nothing. So the cost follows the bytes a commit writes,
# and those are set by the schema: a commit of 50 messages writes 64 pages, 39 of them
# of the index on the random ``ekey`` (schema 12 replaced it by ``message_keys``, filled
# in batches, see storage/messages.py: the encrypted store's write CPU per 40k messages
# went from 2.45-2.60 s to 1.60-1.87 s, plain from 1.71-1.75 to 1.25-1.48). The page
# size trades bytes against pages: 2048 made one-message commits ~25 % cheaper but the
# bulk commits of a history sync dearer (receiver CPU +30-40 %); 8192 wrote more bytes
# and helped neither; 4096 stays.
# A bigger page cache and an FTS5 page size that fits the 4048 usable bytes of a page
# changed nothing measurable. cipher_memory_security must stay OFF (this build's default): ON
# made each commit 6-8 times dearer.
CIPHER_SETTINGS = ("cipher_hmac_algorithm = HMAC_SHA256",)
SQLITE_HEADER = b"SQLite format 3\0"
ENCRYPTING_SUFFIX = ".encrypting"  # the encrypted copy being made (step 2-3)
PLAIN_OLD_SUFFIX = ".plain-old"  # the plain file once replaced, waiting to be wiped (4-5)
WIPE_SUFFIX = ".wipe"  # a plain log file kept by a hard link until it is overwritten (1)
# How long the migration waits for another connection's transaction before it gives up
# and leaves the database as it is (there should be none: the profile is locked).
BUSY_SECONDS = 5.0
_SIDE_FILES = ("-wal", "-shm", "-journal")

# Both libraries' errors: code that catches sqlite3.Error around a store that may be
# encrypted must catch these instead (sqlcipher3's classes are not sqlite3's).
DB_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, sqlcipher.Error)
DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlite3.DatabaseError, sqlcipher.DatabaseError)

_COPY_ERRORS: tuple[type[Exception], ...] = (*DB_ERRORS, OSError)

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: stage is "copy", "check" or "swap"; for a progress
bar. Copy counts bytes written of about ``total``, check counts rows, swap counts steps."""


class WrongKey(StorageError):
    """The key does not open this database (another key, or the file is damaged)."""


class NotEncrypted(StorageError):
    """A key was given for a database that is still plain: migrate it first."""


class KeyRequired(DatabaseCorrupt):
    """No key was given for a file that is not plain SQLite: encrypted, or foreign (the
    two look alike: an encrypted file is indistinguishable from random bytes)."""


class MigrationFailed(StorageError):
    """The encrypted copy could not be made (disk full, a lock) or did not match the
    plain database; the plain one is left as it was and a later try can succeed."""


def is_encrypted(path: Path | str) -> bool:
    """True when ``path`` holds data that is not a plain SQLite file (an SQLCipher file
    starts with its random salt). A missing or empty file is not encrypted."""
    try:
        with Path(path).open("rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return False
    except OSError as e:
        raise StorageError(f"cannot read {path}: {e.strerror}") from e
    return bool(head) and head != SQLITE_HEADER


def connect(
    path: Path | str, key: bytes | None, *, check_same_thread: bool = False
) -> sqlite3.Connection:
    """Open ``path`` in autocommit mode (``isolation_level=None``): with SQLCipher and
    the raw ``key`` (32 bytes), or in plain SQLite when ``key`` is None. The result has
    ``sqlite3.Connection``'s API, but an encrypted one raises sqlcipher3's error classes:
    catch :data:`DB_ERRORS`."""
    if key is None:
        return sqlite3.connect(path, isolation_level=None, check_same_thread=check_same_thread)
    if len(key) != KEY_BYTES:
        raise ValueError(f"a database key is {KEY_BYTES} bytes, not {len(key)}")
    conn = sqlcipher.connect(str(path), isolation_level=None, check_same_thread=check_same_thread)
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")  # a wrong key is WrongKey, not a log
        _apply_key(conn, key)
        _check_key(conn, path)
    except BaseException:
        conn.close()
        raise
    return cast(sqlite3.Connection, conn)


def _apply_key(conn: Any, key: bytes) -> None:
    # The first statement on the connection. A raw key in x'' form skips SQLCipher's
    # PBKDF2 (the key is already random): opening costs microseconds, not 250 ms.
    conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    for setting in CIPHER_SETTINGS:
        conn.execute(f"PRAGMA {setting}")
    (version,) = conn.execute("PRAGMA cipher_version").fetchone() or (None,)
    if not version:
        raise StorageError("the installed sqlcipher3 is not built with SQLCipher; reinstall it")


def _check_key(conn: Any, path: Path | str) -> None:
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher.DatabaseError as e:
        if not is_encrypted(path) and Path(path).stat().st_size > 0:
            raise NotEncrypted(
                f"{path} is not encrypted yet; it must be migrated before it opens with a key"
            ) from e
        raise WrongKey(
            f"the key does not open {path}: it was encrypted with another key, or the file "
            "is damaged. The file was left untouched."
        ) from e


# -- migration ----------------------------------------------------------------------------


def migrate_plain(
    src: Path | str, dst: Path | str, key: bytes, progress: Progress | None = None
) -> None:
    """Encrypt the plain database ``src`` with ``key`` into ``dst`` (normally the same
    path: the encrypted copy then replaces the plain file). The copy is compared row by
    row with the original before it is swapped in; the plain file and its log are then
    overwritten and removed. Run it with the profile locked (no other connection open).
    Raises :class:`MigrationFailed` (the plain database untouched) if the copy differs."""
    src, dst = Path(src), Path(dst)
    report = progress or (lambda stage, done, total: None)
    if len(key) != KEY_BYTES:
        raise ValueError(f"a database key is {KEY_BYTES} bytes, not {len(key)}")
    clean_up(dst)
    if src != dst:
        clean_up(src)
    if is_encrypted(src):
        raise StorageError(f"{src} is already encrypted")
    if src != dst and dst.exists():
        raise StorageError(f"{dst} exists; the encrypted copy goes to a new file")
    need = sum(p.stat().st_size for p in (src, _sibling(src, "-wal")) if p.exists())
    free = shutil.disk_usage(dst.parent).free
    if free < need + need // 10:
        raise MigrationFailed(
            f"not enough free disk space to encrypt {src}: it needs {need / 1e6:.0f} MB, "
            f"{free / 1e6:.0f} MB are free. The database was left as it is (not encrypted)."
        )
    tmp = _sibling(dst, ENCRYPTING_SUFFIX)
    try:
        _fold_log(src)
        _export(src, tmp, key, report)
        _compare(src, tmp, key, report)
        _fsync_file(tmp)
    except _COPY_ERRORS as e:
        clean_up(dst)
        raise MigrationFailed(
            f"encrypting {src} failed ({e}); the database was left as it is (not encrypted)"
        ) from e
    except MigrationFailed:
        clean_up(dst)
        raise
    _swap(src, dst, tmp, report)


def ensure_encrypted(path: Path | str, key: bytes, progress: Progress | None = None) -> bool:
    """What a start-up calls before ``Store(path, key=key)``: finish an interrupted
    migration, and migrate ``path`` if it is a plain database. True if it migrated."""
    path = Path(path)
    clean_up(path)
    if not path.exists() or path.stat().st_size == 0 or is_encrypted(path):
        return False
    migrate_plain(path, path, key, progress)
    return True


def clean_up(path: Path | str) -> None:
    """Finish or undo an interrupted :func:`migrate_plain` of ``path``: delete a partial
    encrypted copy, wipe a replaced plain file and plain logs kept for wiping."""
    path = Path(path)
    tmp = _sibling(path, ENCRYPTING_SUFFIX)
    for name in (tmp, *(_sibling(tmp, s) for s in _SIDE_FILES)):
        with contextlib.suppress(FileNotFoundError):
            name.unlink()
    for suffix in (PLAIN_OLD_SUFFIX, *(s + WIPE_SUFFIX for s in _SIDE_FILES)):
        leftover = _sibling(path, suffix)
        if leftover.exists():
            wipe_file(leftover)


def wipe_file(path: Path | str) -> None:
    """Overwrite ``path`` with zeros, fsync and unlink it (best effort against later
    reading of the disk). A name that shares its data with another (a hard link) is only
    unlinked, so that the other name keeps its data. Symlinks are never followed."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return
    except OSError:  # a symlink or not writable: remove the name, write nothing
        path.unlink(missing_ok=True)
        return
    try:
        st = os.fstat(fd)
        if st.st_nlink == 1:
            zeros = bytes(1 << 20)
            left = st.st_size
            while left > 0:
                left -= os.write(fd, zeros[: min(left, len(zeros))])
            os.fsync(fd)
    finally:
        os.close(fd)
    path.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _sibling(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _fold_log(src: Path) -> None:
    """Step 1: copy the write-ahead log into ``src`` and leave WAL mode, keeping the log
    files by hard links until SQLite has removed them, then overwrite them: deleting
    alone would leave their plaintext on the disk."""
    kept: list[Path] = []
    conn = sqlite3.connect(src, isolation_level=None, timeout=BUSY_SECONDS)
    try:
        conn.execute("PRAGMA wal_checkpoint(FULL)").fetchall()
        for suffix in ("-wal", "-shm"):
            log_file, keep = _sibling(src, suffix), _sibling(src, suffix + WIPE_SUFFIX)
            if log_file.exists():
                os.link(log_file, keep)
                kept.append(keep)
        conn.execute("PRAGMA journal_mode=DELETE").fetchall()  # checkpoints, removes -wal
    finally:
        conn.close()
    for keep in kept:
        wipe_file(keep)


def _export(src: Path, tmp: Path, key: bytes, report: Progress) -> None:
    """Step 2: the encrypted copy, by SQLCipher's own export (schema, rows, indexes,
    the search index's tables) plus the schema version."""
    total = max(src.stat().st_size, 1)
    conn = sqlcipher.connect(str(src), isolation_level=None)
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        report("copy", 0, total)

        def tick() -> int:
            with contextlib.suppress(OSError):
                report("copy", min(tmp.stat().st_size, total), total)
            return 0

        conn.set_progress_handler(tick, 20_000)  # about every millisecond
        conn.execute(f"ATTACH DATABASE ? AS encrypted KEY \"x'{key.hex()}'\"", (str(tmp),))
        for setting in CIPHER_SETTINGS:
            conn.execute(f"PRAGMA encrypted.{setting}")
        conn.execute("SELECT sqlcipher_export('encrypted')").fetchall()
        conn.execute(f"PRAGMA encrypted.user_version = {int(version)}")
        conn.set_progress_handler(None, 0)
        conn.execute("DETACH DATABASE encrypted")
        report("copy", total, total)
    finally:
        conn.close()


def _tables(conn: Any) -> list[tuple[str, str]]:
    """Ordinary tables (FTS5's shadow tables included; virtual tables are compared
    through them) with the ORDER BY that lists their rows the same way in both files."""
    out = []
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    for name, sql in rows:
        if (sql or "").upper().startswith("CREATE VIRTUAL"):
            continue
        quoted = '"' + name.replace('"', '""') + '"'
        info = conn.execute(f"PRAGMA table_info({quoted})").fetchall()
        pk = sorted((r[5], r[1]) for r in info if r[5])
        without_rowid = "WITHOUT ROWID" in (sql or "").upper()
        columns = ", ".join('"' + c.replace('"', '""') + '"' for _, c in pk)
        order = columns if without_rowid else "rowid"
        out.append((quoted, order))
    return out


def _rows(conn: Any, table: str, order: str) -> Iterator[tuple[Any, ...]]:
    select = "rowid, *" if order == "rowid" else "*"
    yield from conn.execute(f"SELECT {select} FROM {table} ORDER BY {order}")  # noqa: S608


def _compare(src: Path, tmp: Path, key: bytes, report: Progress) -> None:
    """Step 3: the copy holds the same schema, version and rows as the original, row by
    row (every message, event and contact), else MigrationFailed."""
    plain = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    enc = connect(tmp, key)
    try:
        schema = "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"
        if plain.execute(schema).fetchall() != enc.execute(schema).fetchall():
            raise MigrationFailed(f"the encrypted copy of {src} has another schema")
        version = "PRAGMA user_version"
        if plain.execute(version).fetchone() != enc.execute(version).fetchone():
            raise MigrationFailed(f"the encrypted copy of {src} has another schema version")
        tables = _tables(plain)
        counts = [plain.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t, _ in tables]  # noqa: S608
        total, done = sum(counts), 0
        report("check", 0, total)
        for (table, order), count in zip(tables, counts, strict=True):
            (enc_count,) = enc.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
            if enc_count != count:
                raise MigrationFailed(
                    f"the encrypted copy of {src} has {enc_count} rows in {table}, not {count}"
                )
            for a, b in zip(_rows(plain, table, order), _rows(enc, table, order), strict=True):
                if a != b:
                    raise MigrationFailed(f"the encrypted copy of {src} differs in {table}")
                done += 1
                if done % 5000 == 0:
                    report("check", done, total)
        report("check", total, total)
    except ValueError as e:  # zip(strict=True): one side ran out first
        raise MigrationFailed(f"the encrypted copy of {src} lacks rows: {e}") from e
    finally:
        plain.close()
        enc.close()


def _swap(src: Path, dst: Path, tmp: Path, report: Progress) -> None:
    """Steps 4-5: the checked copy replaces ``dst`` in one rename; the plain file, kept
    until then under a second name, is wiped."""
    old = _sibling(dst, PLAIN_OLD_SUFFIX)
    report("swap", 0, 3)
    if src == dst:
        os.link(src, old)  # the rename below must not free the plaintext unwiped
        _fsync_dir(dst.parent)
    report("swap", 1, 3)
    os.replace(tmp, dst)
    _fsync_dir(dst.parent)
    report("swap", 2, 3)
    wipe_file(old if src == dst else src)
    report("swap", 3, 3)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
