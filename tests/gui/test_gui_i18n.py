"""Languages: the German translation is complete and used when chosen (texts, dates, SAS
emoji names); no Qt text setter in app/gui gets an untranslated literal; every
interactive widget has an accessible name."""

from __future__ import annotations

import ast
import datetime
import re
from pathlib import Path

import pytest
from PySide6.QtCore import QLocale
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)
from test_gui_chat import _friends, _open

from kith.app.gui import i18n, timefmt
from kith.app.gui.trust import SasDialog
from kith.p2p.fingerprint import SAS_EMOJI

GUI = Path(i18n.__file__).parent
TS = i18n.i18n_dir() / "kith_de.ts"


@pytest.fixture
def german(qapp):
    """The app speaks German (as ``KITH_LANG=de`` would make it) for one test."""
    assert i18n.install(qapp, QLocale(QLocale.Language.German, QLocale.Country.Germany)) == "de"
    yield
    i18n.uninstall(qapp)


# -- the translation file ----------------------------------------------------------------


def test_every_german_message_is_finished_and_keeps_its_placeholders():
    import xml.etree.ElementTree as ET

    assert i18n.unfinished(TS) == []
    root = ET.parse(TS).getroot()
    messages = list(root.iter("message"))
    assert len(messages) > 300  # (the whole app, not a sample)
    for m in messages:
        source = m.findtext("source") or ""
        forms = [f.text or "" for f in m.iter("numerusform")] or [m.findtext("translation")]
        for text in forms:
            assert sorted(re.findall(r"\{\w+\}", source)) == \
                sorted(re.findall(r"\{\w+\}", text or "")), source
            assert ("%n" in source) == ("%n" in (text or "")), source
    assert (i18n.i18n_dir() / "kith_de.qm").stat().st_size > 10_000  # built and shipped


def test_the_committed_files_are_what_the_build_makes(tmp_path):
    """No text of app/gui is missing from kith_de.ts (or left there), and kith_de.qm is
    built from it: the build run again changes nothing."""
    import shutil

    for name in ("kith_de.ts", "kith_de.qm"):
        shutil.copy(i18n.i18n_dir() / name, tmp_path / name)
    i18n.build(tmp_path)
    for name in ("kith_de.ts", "kith_de.qm"):
        assert (tmp_path / name).read_bytes() == (i18n.i18n_dir() / name).read_bytes(), \
            f"{name} is out of date: run python -m kith.app.gui.i18n build"


def test_unfinished_finds_an_untranslated_message(tmp_path):
    ts = tmp_path / "kith_xx.ts"
    ts.write_text(
        '<?xml version="1.0" encoding="utf-8"?><TS version="2.1" language="xx"><context>'
        "<name>A</name><message><source>Done</source><translation>Fertig</translation>"
        '</message><message><source>Open</source><translation type="unfinished"/>'
        '</message><message numerus="yes"><source>%n files</source><translation>'
        "<numerusform>%n Datei</numerusform><numerusform></numerusform></translation>"
        "</message></context></TS>", encoding="utf-8")
    assert i18n.unfinished(ts) == ["Open", "%n files"]


# -- no untranslated literal reaches a Qt text setter ----------------------------------------

TEXT_CALLS = {
    "setText", "setToolTip", "setPlaceholderText", "setWindowTitle", "addAction",
    "setStatusTip", "setTitle", "setLabelText", "setWhatsThis", "showMessage", "addItem",
    "setAccessibleName", "setAccessibleDescription", "addTab", "setTabText", "insertItem",
    "setItemText", "addMenu", "setInformativeText", "setDetailedText", "addRow", "addButton",
    "QLabel", "QPushButton", "QCheckBox", "QRadioButton", "QAction", "QToolButton",
    "QGroupBox", "QMenu", "QMessageBox", "QProgressDialog",
    "information", "warning", "question", "critical", "getText", "getOpenFileName",
    "getOpenFileNames", "getSaveFileName", "getExistingDirectory", "getItem",
    "add_tool", "add_top_button", "add_button",  # (the app's own: composer tools, banners)
}
# words that are not English: the app's name; object names are camelCase identifiers
ALLOWED = {"Kith"}
NOT_SCANNED = {"screenshots.py"}  # the README's demo pictures (made-up people and chats)
LOGGERS = {"log", "logger", "_log"}


def _has_words(text: str) -> bool:
    """Letters a translator would translate (not markup, not an object name)."""
    text = re.sub(r"<[^>]*>|&\w+;", "", text)
    if text in ALLOWED or re.fullmatch(r"[a-z][A-Za-z0-9_]*", text):
        return False
    return any(c.isalpha() for c in text)


def _untranslated(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and _has_words(node.value)
    if isinstance(node, ast.JoinedStr):
        return any(_untranslated(v) for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp):
        return _untranslated(node.left) or _untranslated(node.right)
    if isinstance(node, ast.IfExp):
        return _untranslated(node.body) or _untranslated(node.orelse)
    return False  # a call (tr, translate, a function), a name: not a literal


def untranslated_literals(source: str, filename: str = "<source>") -> list[str]:
    """``file:line: text`` of each string literal passed straight to a Qt text setter."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
        if name not in TEXT_CALLS:
            continue
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and \
                f.value.id in LOGGERS:
            continue  # log.warning("…"): for the developer, in English
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            if _untranslated(arg):
                found.append(f"{filename}:{arg.lineno}: {ast.unparse(arg)[:70]}")
    return found


def test_no_untranslated_string_reaches_a_qt_text_setter():
    found = []
    for path in sorted(GUI.glob("*.py")):
        if path.name not in NOT_SCANNED:
            found += untranslated_literals(path.read_text(encoding="utf-8"), path.name)
    assert found == [], "wrap these in self.tr() / QCoreApplication.translate():\n" + \
        "\n".join(found)


def test_translate_is_never_aliased():
    """``tr = QCoreApplication.translate`` then ``tr("ctx", "text")`` works at run time,
    but lupdate reads it as ``self.tr("ctx")``: the text would never be translated."""
    aliased = []
    for path in sorted(GUI.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Attribute) and \
                    node.value.attr in ("translate", "tr"):
                aliased.append(f"{path.name}:{node.lineno}")
    assert aliased == []


def test_the_scanner_finds_untranslated_literals():
    bad = '''
button = QPushButton("Send")
label.setText(f"Hello {name}")
box.setToolTip("Open it here" + (" with the draft" if d else ""))
menu.addAction("Read" if read else self.tr("Unread"))
'''
    good = '''
button = QPushButton(self.tr("Send"))
label.setText(self.tr("Hello {name}").format(name=name))
close.setText("\\u2715")
icon.setText("↓")
log.warning("cannot reach %s", name)
QMessageBox.critical(None, "Kith", str(e))
b.setObjectName("sendButton")
title.setText(f"<b>{name}</b>")
'''
    assert len(untranslated_literals(bad)) == 4
    assert untranslated_literals(good) == []


# -- the app in German --------------------------------------------------------------------


def test_the_language_choice(tmp_path, monkeypatch):
    monkeypatch.delenv(i18n.ENV, raising=False)
    assert i18n.saved_language(tmp_path) == i18n.SYSTEM
    assert i18n.chosen_locale(tmp_path).name() == QLocale.system().name()
    i18n.save_language(tmp_path, "de")
    assert i18n.saved_language(tmp_path) == "de"
    assert i18n.chosen_locale(tmp_path).language() == QLocale.Language.German
    monkeypatch.setenv(i18n.ENV, "en")  # the environment wins (tests, a one-off start)
    assert i18n.chosen_locale(tmp_path).language() == QLocale.Language.English
    monkeypatch.delenv(i18n.ENV)
    i18n.save_language(tmp_path, i18n.SYSTEM)
    assert not (tmp_path / i18n.LANGUAGE_FILE).exists()
    (tmp_path / i18n.LANGUAGE_FILE).write_text("klingon\n")  # a damaged file: the system's
    assert i18n.saved_language(tmp_path) == i18n.SYSTEM
    with pytest.raises(ValueError, match="not a language"):
        i18n.save_language(tmp_path, "xx")


SPEAK = """
from PySide6.QtCore import QCoreApplication
from kith.app.gui import i18n
app = QCoreApplication([])
print(i18n.install(app, i18n.chosen_locale(None)),
      QCoreApplication.translate("SettingsDialog", "Settings"))
"""


@pytest.mark.parametrize(("env", "spoken"), [
    ({"LANG": "de_DE.UTF-8"}, "de Einstellungen"),
    ({"LANGUAGE": "de", "LANG": "en_US.UTF-8"}, "de Einstellungen"),
    ({"LC_ALL": "de_AT.UTF-8", "KITH_LANG": "en"}, "en Settings"),  # KITH_LANG wins
    ({"LANG": "C.UTF-8", "KITH_LANG": "de"}, "de Einstellungen"),
    ({"LANG": "fr_FR.UTF-8"}, "en Settings"),  # no French: the source language
])
def test_the_system_language_or_kith_lang_chooses_at_start(env, spoken):
    import os
    import subprocess
    import sys

    clean = {k: v for k, v in os.environ.items()
             if k not in ("LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", i18n.ENV)}
    out = subprocess.run([sys.executable, "-c", SPEAK], env={**clean, **env},
                         capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == spoken


def test_dates_follow_the_language(qapp):
    now = datetime.datetime(2026, 3, 12, 15, 30)  # a Thursday
    yesterday = int(datetime.datetime(2026, 3, 11, 14, 5).timestamp() * 1000)
    monday = int(datetime.datetime(2026, 3, 9, 9, 0).timestamp() * 1000)
    try:
        i18n.install(qapp, QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))
        assert timefmt.day_label(yesterday, now) == "Yesterday 2:05\u202fPM" or \
            timefmt.day_label(yesterday, now) == "Yesterday 2:05 PM"
        assert timefmt.short_time(monday, now) == "Monday"
        i18n.install(qapp, QLocale(QLocale.Language.German, QLocale.Country.Germany))
        assert timefmt.day_label(yesterday, now) == "Gestern 14:05"
        assert timefmt.short_time(monday, now) == "Montag"
        assert timefmt.date_time(datetime.datetime(2026, 3, 1, 8, 7)) == "01.03.26, 08:07"
        assert timefmt.duration(86400 + 2 * 3600) == "1 Tag 2 Stunden"
        assert timefmt.duration(0) == "aus"
    finally:
        i18n.uninstall(qapp)


def test_switching_to_german_translates_the_window_and_its_dialogs(
        kith_apps, qtbot, german, monkeypatch):
    alice = kith_apps("alice")
    w = alice.window
    sidebar = w.sidebar
    assert sidebar.search.placeholderText() == "Suchen (Strg+F)"
    assert sidebar.settings_button.accessibleName() == "Einstellungen"
    assert sidebar.nearby_title.text().casefold() == "in der nähe"
    settings = w.open_settings()
    qtbot.waitUntil(settings.isVisible)
    assert settings.windowTitle() == "Einstellungen"
    assert settings.discoverable.text() == "Für Menschen in diesem Netzwerk sichtbar sein"
    assert settings.language.currentData() == i18n.SYSTEM
    assert [settings.language.itemText(i) for i in range(settings.language.count())] == \
        ["System", "English", "Deutsch"]
    # Qt's own words too (its translation of the standard buttons)
    assert {b.text() for b in settings.findChildren(QAbstractButton)} >= {"&Speichern"} or \
        {b.text() for b in settings.findChildren(QAbstractButton)} >= {"Speichern"}
    settings.language.setCurrentIndex(settings.language.findData("de"))
    settings.accept()
    qtbot.waitUntil(lambda: not settings.isVisible())
    assert i18n.saved_language(alice.node.profile) == "de"  # for the next start


def test_sas_emoji_names_in_german(qtbot, german):
    dialog = SasDialog(SAS_EMOJI[:7])
    qtbot.addWidget(dialog)
    shown = [dialog.findChild(QLabel, f"sasName{i}").text() for i in range(7)]
    assert shown == ["Hund", "Katze", "Löwe", "Pferd", "Einhorn", "Schwein", "Elefant"]
    assert dialog.names() == [n for _, n in SAS_EMOJI[:7]]  # the core's names stay English
    assert dialog.windowTitle() == "Mit Emoji verifizieren"


def test_sas_names_cover_the_whole_table(german):
    names = {english: i18n.sas_name(english) for _, english in SAS_EMOJI}
    assert len(set(names.values())) == 64
    assert sum(german != english for english, german in names.items()) > 55
    assert (names["Rabbit"], names["Thumbs Up"], names["Headphones"]) == \
        ("Hase", "Daumen Hoch", "Kopfhörer")


# -- accessible names -------------------------------------------------------------------------

INTERACTIVE = (QAbstractButton, QLineEdit, QComboBox, QAbstractItemView, QTextEdit,
               QPlainTextEdit, QAbstractSpinBox)


def _inside(w: QWidget, kinds: type | object) -> bool:
    parent = w.parentWidget()
    while parent is not None:
        if isinstance(parent, kinds):  # type: ignore[arg-type]
            return True
        parent = parent.parentWidget()
    return False


def nameless(root: QWidget) -> list[str]:
    """The interactive widgets under ``root`` (itself included) that a screen reader
    could only call by their kind: no accessible name, and no text that serves as one."""
    out = []
    for w in [root, *root.findChildren(QWidget)]:
        if not isinstance(w, INTERACTIVE) or \
                _inside(w, QComboBox | QAbstractItemView | QLineEdit | QAbstractSpinBox):
            continue  # (a combo box's popup, a list's editor, a line edit's clear button)
        if w.objectName().startswith("qt_"):
            continue  # Qt's private parts (a scroll area's viewport, a spin box's edit)
        iface = QAccessible.queryAccessibleInterface(w)
        name = iface.text(QAccessible.Text.Name) if iface is not None else ""
        if not any(c.isalpha() for c in name.replace("&", "")):
            out.append(f"{type(w).__name__} {w.objectName() or '(no object name)'} "
                       f"{name!r}")
    return out


def test_every_interactive_widget_has_an_accessible_name(kith_apps, qtbot, aw):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    w = alice.window
    _open(qtbot, w, "bob")
    problems = {"main window": nameless(w)}
    settings = w.open_settings()
    problems["settings"] = nameless(settings)
    settings.reject()
    info = w.show_contact_info()
    assert info is not None
    problems["contact info"] = nameless(info)
    info.reject()
    new_chat = w.new_chat()
    problems["new chat"] = nameless(new_chat)
    new_chat.reject()
    new_group = w.new_group()
    problems["new group"] = nameless(new_group)
    new_group.reject()
    conv = aw(alice.node.create_group("Board games", ["bob"])).id
    qtbot.waitUntil(lambda: any(w.conversations.item(i).name == "Board games"
                                for i in range(w.conversations.rowCount())))
    _open(qtbot, w, "Board games")
    assert w.current == conv
    w.show_contact_info()
    from kith.app.gui.groups import GroupInfoDialog
    qtbot.waitUntil(lambda: w.findChild(GroupInfoDialog) is not None)
    group_info = w.findChild(GroupInfoDialog)
    problems["group info"] = nameless(group_info)
    group_info.reject()
    from kith.app.gui.groups import AddPeopleDialog
    add_people = AddPeopleDialog(alice.bridge, set(), w)
    problems["add people"] = nameless(add_people)
    add_people.reject()
    problems = {k: v for k, v in problems.items() if v}
    assert problems == {}, "\n".join(f"{k}: {v}" for k, v in problems.items())


def test_nameless_finds_a_button_without_a_name(qtbot):
    from PySide6.QtWidgets import QHBoxLayout, QPushButton, QToolButton

    box = QWidget()
    qtbot.addWidget(box)
    row = QHBoxLayout(box)
    icon_only = QToolButton()
    icon_only.setObjectName("iconOnly")
    named = QToolButton()
    named.setAccessibleName("Close")
    row.addWidget(icon_only)
    row.addWidget(named)
    row.addWidget(QPushButton("Send"))
    field = QLineEdit()
    field.setObjectName("field")
    row.addWidget(field)
    assert nameless(box) == ["QToolButton iconOnly ''", "QLineEdit field ''"]
    assert QApplication.instance() is not None


def test_the_start_and_unlock_dialogs_name_their_controls(qtbot):
    from kith.app.gui.devices import LinkDialog
    from kith.app.gui.dialogs import FirstStartDialog
    from kith.app.gui.unlock import ProtectionDialog, RecoveryCodeDialog, SecretDialog
    from kith.p2p.oskeyring import KeyringStatus

    def never(_text: str) -> bytes:
        raise AssertionError("not unlocked in this test")

    dialogs = {
        "first start": FirstStartDialog(),
        "protection": ProtectionDialog(KeyringStatus(False, "fail", "no Secret Service")),
        "recovery code": RecoveryCodeDialog("ABCD-EFGH"),
        "passphrase": SecretDialog(never),
        "recovery": SecretDialog(never, recovery=True),
        "link": LinkDialog("123-456-789", "laptop"),
    }
    for d in dialogs.values():
        qtbot.addWidget(d)
    problems = {k: nameless(d) for k, d in dialogs.items()}
    assert {k: v for k, v in problems.items() if v} == {}
