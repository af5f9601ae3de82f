"""A damaged database at start (hardening #13): the app offers to repair it.

When the profile's database fails its check the node does not open it (a copy is kept,
``kith.db.damaged``). Instead of pointing to ``kith check --repair`` the app asks: Repair
runs the same rebuild the CLI runs (:func:`storage.integrity.repair`: every row that
still reads, the damaged file kept) on a worker thread while a progress dialog shows,
then opens the profile; Quit leaves everything as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QPushButton, QWidget

from kith.p2p.errors import KithError
from kith.p2p.profile import DB_FILE, claim_nowait
from kith.storage import StorageError, integrity

if TYPE_CHECKING:
    from kith.app.gui.app import KithApp

log = logging.getLogger(__name__)


def damaged(e: BaseException) -> integrity.DatabaseDamaged | None:
    """The damaged-database error behind ``e`` (the node wraps it), if it is one."""
    seen: BaseException | None = e
    while seen is not None:
        if isinstance(seen, integrity.DatabaseDamaged):
            return seen
        seen = seen.__cause__
    return None


def _question(copy: Path | None, parent: QWidget | None) -> tuple[QMessageBox, QPushButton]:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(QCoreApplication.translate("Repair", "Kith cannot start"))
    box.setText(QCoreApplication.translate(
        "Repair", "This profile's database is damaged. Kith did not open it, so nothing "
        "more is lost."))
    box.setInformativeText(QCoreApplication.translate(
        "Repair", "Repair rebuilds it from everything that can still be read; what is lost of "
        "your conversations comes back from your other devices and your contacts the "
        "next time they are online. The damaged file is kept at {copy}.").format(
            copy=str(copy) if copy else "kith.db.damaged"))
    button = box.addButton(QCoreApplication.translate("Repair", "Repair"),
                           QMessageBox.ButtonRole.AcceptRole)
    button.setObjectName("repairButton")
    box.addButton(QCoreApplication.translate("Repair", "Quit"),
                  QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(button)
    box.setObjectName("repairQuestion")
    return box, button


async def _answer(box: QMessageBox, button: QPushButton) -> bool:
    """Show ``box`` without a nested event loop; True if Repair was chosen."""
    done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def finished(_code: int) -> None:
        if not done.done():
            done.set_result(box.clickedButton() is button)

    box.finished.connect(finished)
    box.open()
    return await done


async def repair(profile: Path, key: bytes | None, parent: QWidget | None = None) -> str | None:
    """Rebuild the profile's database on a worker thread, a progress dialog showing;
    None when done, else what went wrong."""
    lock = claim_nowait(profile, "command", "repair")
    if lock is None:
        return QCoreApplication.translate(
            "Repair", "Kith is running for this profile elsewhere: quit it, then start "
            "Kith again")
    progress = QProgressDialog(
        QCoreApplication.translate("Repair", "Repairing the database…"), "", 0, 0, parent)
    progress.setObjectName("repairProgress")
    progress.setWindowTitle("Kith")
    progress.setCancelButton(None)  # (a rebuild cannot stop halfway)
    progress.setWindowModality(Qt.WindowModality.ApplicationModal)
    progress.setMinimumDuration(0)
    progress.show()
    try:
        done = await asyncio.get_running_loop().run_in_executor(
            None, integrity.repair, profile / DB_FILE, key)
    except (StorageError, OSError) as e:
        log.error("repair of %s failed: %s", profile / DB_FILE, e)
        return QCoreApplication.translate("Repair", "The repair failed: {problem}").format(
            problem=str(e))
    finally:
        progress.close()
        lock.release()
    for table, why in sorted(done.unread.items()):
        log.warning("repair: some rows of %s could not be read (%s)", table, why)
    return None


async def start_or_repair(
    make: Callable[[], KithApp], profile: Path, key: bytes | None, show: bool,
) -> KithApp | None:
    """Start the app made by ``make``; if its database is damaged, offer to repair it
    and start again once repaired. None if the user chose to quit. Other errors (and a
    second failure) raise as before."""
    kith = make()
    try:
        await kith.start(show=show)
        return kith
    except KithError as e:
        with contextlib.suppress(Exception):
            await kith.stop()
        found = damaged(e)
        if found is None:
            raise
        if not await _answer(*_question(found.copy, None)):
            return None
    problem = await repair(profile, key)
    if problem is not None:
        raise KithError(problem)
    kith = make()
    try:
        await kith.start(show=show)
    except KithError:
        with contextlib.suppress(Exception):
            await kith.stop()
        raise
    return kith
