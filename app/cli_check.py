"""``kith check [--repair]``: SQLite's full integrity check of the profile's database,
and the rebuild of a damaged one from what can still be read (storage.integrity)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kith.app import cli_output as out
from kith.app import cli_unlock
from kith.p2p.errors import EnvironmentProblem
from kith.p2p.profile import DB_FILE, claim_nowait

EXIT_DAMAGED = 8  # (p2p.commands.ERROR_CODES["damaged"])


def add_parser(command: Any) -> None:
    s: argparse.ArgumentParser = command(
        "check", "check the profile's database for damage (SQLite's integrity check); "
        "--repair rebuilds a damaged one from what can still be read", json=True)
    s.add_argument("--repair", action="store_true",
                   help="rebuild the database from every row that still reads (the damaged "
                        "file is kept as kith.db.damaged)")


def run(profile: Path, args: argparse.Namespace) -> int:
    from kith.storage import cipher, integrity  # (here: the other commands need neither)

    key = cli_unlock.open_profile(profile, args, upgrade=False)
    path = profile / DB_FILE
    if not path.exists():
        raise EnvironmentProblem(f"there is no database in {profile} yet")
    lock = claim_nowait(profile, "command", "check")
    if lock is None:
        raise EnvironmentProblem("Kith is running for this profile: quit the app or stop "
                                 "`kith daemon`, then run `kith check` again")
    try:
        if args.repair:
            done = integrity.repair(path, key)
            kept = sum(done.rows.values())
            if args.json:
                out.say_json({"repaired": True, "rows": done.rows, "unread": done.unread,
                                "copy": str(done.copy)})
            else:
                out.say(f"repaired {path}: {kept} rows kept; the damaged file is kept at "
                        f"{done.copy}")
            for table, why in sorted(done.unread.items()):
                out.warn(f"some rows of {table} could not be read ({why}); your other "
                         "devices and your contacts send back what they hold")
            return 0
        conn = cipher.connect(path, key)
        try:
            problems = integrity.full_check(conn)
        finally:
            conn.close()
    finally:
        lock.release()
    copy = integrity.keep_copy(path) if problems else None
    if args.json:
        out.say_json({"damaged": bool(problems), "problems": problems,
                        "copy": str(copy) if copy else None})
    if copy is not None:
        out.warn(integrity.damaged_message(path, problems, copy))
        return EXIT_DAMAGED
    if not args.json:
        out.say(f"{path}: no damage found")
    return 0
