"""The small things: waiting (grey) instead of "Not delivered", an eliding header, the
typing dots move, an empty chat says who it is with, the title names Kith once, times
follow the locale, the hello shows once."""

from __future__ import annotations

import datetime

import pytest
from chatkit import write_contacts
from PySide6.QtCore import QLocale
from PySide6.QtWidgets import QApplication, QLabel

from kith.app.gui.models import MsgRole
from kith.app.gui.timefmt import clock, short_time
from kith.app.gui.window import MainWindow

LONG = "Maximilian Alexander Konstantin von Hohenzollern-Sigmaringen III"


def test_a_queued_message_is_waiting_not_failed(kith_apps, qtbot, tmp_path):
    [bob] = write_contacts(tmp_path / "alice", ["bob"])  # bob is never online
    alice = kith_apps("alice")
    w = alice.window
    w.open_chat(bob)
    w.chat.composer.setPlainText("see you")
    w.send()
    qtbot.waitUntil(lambda: w.messages.rowCount() == 2)
    last = next(w.messages.index(i) for i in range(2)
                if w.messages.index(i).data(MsgRole.Outgoing))
    assert last.data(MsgRole.StatusText) == "Waiting for bob"
    assert last.data(MsgRole.CanRetry)


def test_a_long_name_elides_in_the_header_and_an_empty_chat_says_who(kith_apps, qtbot,
                                                                     tmp_path):
    [who] = write_contacts(tmp_path / "alice", [LONG])
    alice = kith_apps("alice")
    w = alice.window
    w.resize(700, 500)
    w.show()
    conv = w.bridge.conv_for(who)
    w.bridge.node.db.execute("DELETE FROM messages WHERE conv = ?", (conv,))
    w.open_chat(who)
    header = w.chat.header
    qtbot.waitUntil(lambda: header.name.text() == LONG)
    assert header.name.shown_text().endswith("…")
    assert header.width() <= w.chat.width()
    assert header.info.geometry().right() <= header.width()  # Contact info stays in view
    empty = w.chat.view.empty_state
    qtbot.waitUntil(empty.isVisible)
    assert empty.name.text() == LONG
    assert empty.trust.text() == "Not verified yet"
    assert "say hello" in empty.hint.text() and "compare safety numbers" in empty.hint.text()
    w.chat.composer.setPlainText("hello")
    w.send()
    qtbot.waitUntil(lambda: not empty.isVisible())


def test_the_typing_dots_move(qtbot):
    from kith.app.gui.chat import TypingBubble

    bubble = TypingBubble()
    qtbot.addWidget(bubble)
    bubble.source = lambda: True
    bubble.update_state()
    assert bubble.animation.isActive()
    seen = {bubble.phase}
    qtbot.waitUntil(lambda: seen.add(bubble.phase) or len(seen) >= 3)
    bubble.set_active(False)
    assert not bubble.animation.isActive()


def test_the_window_title_says_kith_once(kith_apps, qtbot):
    alice = kith_apps("alice")
    app = QApplication.instance()
    old = app.applicationDisplayName()
    app.setApplicationDisplayName("Kith")  # what run_app sets; the desktop appends it
    try:
        title = alice.window.windowTitle()
        shown = f"{title} — {app.applicationDisplayName()}"
        assert shown.count("Kith") == 1 and "alice" in shown
    finally:
        app.setApplicationDisplayName(old)


@pytest.mark.parametrize(("locale", "expected"), [
    (QLocale(QLocale.Language.English, QLocale.Country.UnitedStates), "3:07\u202fPM"),
    (QLocale(QLocale.Language.German, QLocale.Country.Germany), "15:07"),
])
def test_times_follow_the_locale(locale, expected):
    previous = QLocale()
    QLocale.setDefault(locale)
    try:
        when = datetime.datetime.now().replace(hour=15, minute=7)
        assert clock(when).replace(" ", "\u202f") == expected
        assert short_time(int(when.timestamp() * 1000), now=when) == clock(when)
    finally:
        QLocale.setDefault(previous)


def test_the_hello_shows_once(kith_apps, qtbot, aw):
    alice = kith_apps("alice")
    first = alice.window.empty.findChild(QLabel, "emptyTitle")
    assert first.text() == "Hello, alice!"
    again = MainWindow(alice.bridge)  # the next start
    try:
        title = again.empty.findChild(QLabel, "emptyTitle")
        assert title.text() == "Kith"
        assert "Choose a conversation" in again.empty.findChild(QLabel, "emptyText").text()
    finally:
        again.quit()
        again.deleteLater()


def test_the_composer_grows_to_six_lines_with_an_icon_send_and_nothing_below(
        kith_apps, qtbot, tmp_path):
    from PySide6.QtWidgets import QToolButton

    [bob] = write_contacts(tmp_path / "alice", ["bob"])
    alice = kith_apps("alice")
    w = alice.window
    w.resize(800, 600)
    w.show()
    w.open_chat(bob)
    composer = w.chat.composer
    one = composer.height()
    composer.setPlainText("\n".join(["line"] * 3))
    qtbot.waitUntil(lambda: composer.height() > one)
    three = composer.height()
    composer.setPlainText("\n".join(["line"] * 12))
    qtbot.waitUntil(lambda: composer.height() > three)
    line = composer.fontMetrics().lineSpacing()
    assert composer.height() <= one + 5 * line + 2  # about six lines, then it scrolls
    assert isinstance(w.chat.send_button, QToolButton)
    assert not w.chat.send_button.icon().isNull()
    assert w.chat.send_button.accessibleName() == "Send"
    # no empty strip under the composer (the status bar shows only with a message)
    assert not w.statusBar().isVisible()
    field = w.chat.composer_field
    bottom = field.mapTo(w, field.rect().bottomLeft()).y()
    assert w.height() - bottom <= 12
    w.statusBar().showMessage("Trying to reach bob…", 1000)
    qtbot.waitUntil(w.statusBar().isVisible)
    w.statusBar().clearMessage()
    qtbot.waitUntil(lambda: not w.statusBar().isVisible())
