"""Looks: in dark mode check boxes, radio buttons and menus stand out from the window;
"System" on a desktop without a colour scheme is Kith's light palette."""

from __future__ import annotations

import pytest
from chatkit import write_contacts, write_long_chat
from nodekit import make_node
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QLabel,
    QMenu,
    QRadioButton,
    QSplitter,
    QStyle,
    QStyleOptionButton,
    QToolButton,
)
from test_gui_chat import _friends

from kith.app.gui import theme
from kith.app.gui.app import KithApp
from kith.p2p.node import Node, NodeOptions


@pytest.fixture
def dark():
    theme.apply_theme("dark")
    yield
    theme.apply_theme("light")


def _contrast(image, rect: QRect, background: QColor) -> int:
    """The largest lightness difference to ``background`` inside ``rect``."""
    out = 0
    for x in range(max(0, rect.left()), min(image.width(), rect.right() + 1)):
        for y in range(max(0, rect.top()), min(image.height(), rect.bottom() + 1)):
            out = max(out, abs(image.pixelColor(x, y).lightness() - background.lightness()))
    return out


@pytest.mark.parametrize("kind", [QCheckBox, QRadioButton])
def test_dark_check_boxes_and_radio_buttons_are_visible(dark, qtbot, kind):
    box = kind("Send read receipts")
    qtbot.addWidget(box)
    box.resize(220, 30)
    image = box.grab().toImage()
    opt = QStyleOptionButton()
    opt.initFrom(box)
    element = (QStyle.SubElement.SE_CheckBoxIndicator if kind is QCheckBox
               else QStyle.SubElement.SE_RadioButtonIndicator)
    indicator = box.style().subElementRect(element, opt, box)
    window = box.palette().color(box.backgroundRole())
    assert theme.is_dark(box.palette())
    assert _contrast(image, indicator, window) >= 60  # the box's edge stands out


def test_dark_menus_have_a_visible_edge(dark, qtbot):
    menu = QMenu()
    qtbot.addWidget(menu)
    menu.addAction("Contact info")
    menu.addAction("Mute notifications")
    menu.resize(menu.sizeHint())
    image = menu.grab().toImage()
    window = QApplication.palette().color(menu.backgroundRole())
    edge = QRect(QPoint(0, 0), QPoint(image.width() - 1, 0))  # the top border line
    assert _contrast(image, edge, window) >= 30
    inside = image.pixelColor(image.width() // 2, image.height() // 2)
    assert inside != QApplication.palette().color(QApplication.palette().ColorRole.Window)


def test_system_without_a_colour_scheme_is_kiths_light_palette(monkeypatch):
    hints = QGuiApplication.styleHints()
    monkeypatch.setattr(type(hints), "colorScheme", lambda _self: Qt.ColorScheme.Unknown)
    theme.apply_theme("system")
    try:
        window = QApplication.palette().color(QApplication.palette().ColorRole.Window)
        assert window == theme.light_palette().color(theme.light_palette().ColorRole.Window)
    finally:
        theme.apply_theme("light")


@pytest.mark.parametrize("width", [640, 1400])
def test_the_composer_tools_sit_in_the_field_and_leave_the_text_its_room(
    kith_apps, qtbot, width
):
    """Attach before the text, emoji and the timer before Send, one size; the text field
    keeps the composer's width (two features once put wide buttons beside the field and
    halved it); the transfers list is a button at the top of the sidebar."""
    app = kith_apps("alice")
    w = app.window
    w.resize(width, 640)
    w.show()
    qtbot.waitExposed(w)
    w.stack.setCurrentWidget(w.chat)  # (the chat pane, as when a chat is open)
    field = w.chat.composer_field
    qtbot.waitUntil(lambda: field.isVisible() and w.chat.composer.x() > 0)
    tools = {b.objectName(): b for b in field.findChildren(QToolButton)}
    assert {"attachButton", "emojiButton", "timerButton", "sendButton"} <= set(tools)
    sizes = {tools[n].size().toTuple() for n in ("attachButton", "emojiButton", "timerButton")}
    assert len(sizes) == 1, sizes
    x = {n: tools[n].mapTo(field, QPoint(0, 0)).x() for n in tools}
    text_x = w.chat.composer.mapTo(field, QPoint(0, 0)).x()
    assert x["attachButton"] < text_x < x["emojiButton"] < x["timerButton"] < x["sendButton"]
    bar = field.parentWidget()
    assert field.width() >= bar.width() - 40, (field.width(), bar.width())
    assert w.chat.composer.width() >= field.width() - 5 * 34
    transfers = w.attachments.transfers_button
    assert transfers.parentWidget() is w.sidebar or w.sidebar.isAncestorOf(transfers)


def _icon_contrast(field, button: QToolButton) -> int:
    """How far the button's icon, as drawn in the field, stands out from the field."""
    image = field.grab().toImage()
    ground = field.palette().color(field.palette().ColorRole.Base)
    return _contrast(image, button.geometry(), ground)


def test_the_composer_tools_follow_a_switch_to_dark(kith_apps, qtbot):
    """Every tool of the field is redrawn in the dark palette's colour: the timer (its
    text is set on each chat change) kept the light theme's dark icon on the dark field."""
    app = kith_apps("alice")
    w = app.window
    w.resize(900, 640)
    w.show()
    qtbot.waitExposed(w)
    w.stack.setCurrentWidget(w.chat)
    field = w.chat.composer_field
    qtbot.waitUntil(field.isVisible)
    theme.apply_theme("dark")
    try:
        dark_base = theme.dark_palette().color(QPalette.ColorRole.Base)
        qtbot.waitUntil(lambda: field.palette().color(QPalette.ColorRole.Base) == dark_base)
        tools = {b.objectName(): b for b in field.findChildren(QToolButton)}
        tools["timerButton"].setEnabled(True)  # (as in an open chat)
        for name in ("attachButton", "emojiButton", "timerButton", "sendButton"):
            assert _icon_contrast(field, tools[name]) >= 80, name
    finally:
        theme.apply_theme("light")


@pytest.mark.parametrize("width", [900, 1600])  # (narrower, the sidebar is avatars only)
def test_search_results_wrap_in_the_sidebar_and_never_scroll_sideways(tmp_path, qtbot, aw,
                                                                     width):
    """A hit's line is as wide as the sidebar and wraps, all of it shown: a result was
    as wide as its text, cut at the sidebar's edge with a sideways scroll bar."""
    profile = tmp_path / "alice"
    write_long_chat(profile, 6, lambda i: f"message {i} about the board games night, the "
                    "snacks, the new expansion and who brings the pizza this time")
    kith = KithApp(Node(profile, NodeOptions(network=False)))
    w = aw(kith.start())
    try:
        w.resize(width, 640)
        qtbot.waitExposed(w)
        qtbot.keyClicks(w.sidebar.search, "pizza")
        results = w.sidebar.results
        qtbot.waitUntil(lambda: results.isVisible() and results.count() == 6)
        viewport = results.viewport()
        for i in range(results.count()):
            label = results.itemWidget(results.item(i))
            qtbot.waitUntil(lambda lb=label: lb.width() <= viewport.width())
            assert label.height() >= label.heightForWidth(label.width())
            assert "pizza" in results.item(i).text()
        assert results.horizontalScrollBar().maximum() == 0
    finally:
        aw(kith.stop())


LONG_NAME = "Maximilian Alexander Konstantin von Hohenzollern-Sigmaringen III"


@pytest.mark.parametrize("width", [600, 1600])
def test_the_composer_hint_with_a_long_name_stays_on_one_line(kith_apps, tmp_path, qtbot,
                                                              width):
    """"Message <a 64-character name>" is elided to the field: in a narrow window it
    wrapped to a second line that the one-line field cut in half."""
    (user,) = write_contacts(tmp_path / "alice", [LONG_NAME])
    w = kith_apps("alice").window
    w.resize(width, 640)
    w.show()
    qtbot.waitExposed(w)
    w.open_chat(user)
    composer = w.chat.composer
    qtbot.waitUntil(lambda: composer.isVisible() and LONG_NAME in composer.full_placeholder)
    room = composer.viewport().width() - 2 * composer.document().documentMargin()
    qtbot.waitUntil(lambda: composer.fontMetrics().horizontalAdvance(
        composer.placeholderText()) <= room)
    if width == 600:
        assert composer.placeholderText().endswith("\u2026")
    else:
        assert composer.placeholderText() == f"Message {LONG_NAME}"
    other = 1600 if width == 600 else 600
    w.resize(other, 640)  # and it follows the window
    qtbot.waitUntil(lambda: w.width() == other and composer.placeholderText().endswith(
        "\u2026") == (width != 600))


def test_an_impostors_warning_in_requests_is_shown_whole(kith_apps, qtbot, aw, tmp_path):
    """"⚠ Not the bob you know: different key" wraps under the name at any sidebar
    width: elided, the warning was the part cut off."""
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    impostor = make_node(tmp_path, "bob", profile="impostor")
    aw(impostor.start())
    try:
        w = alice.window
        w.resize(1200, 640)
        w.show()
        aw(impostor.connect("127.0.0.1", alice.node.port))
        aw(impostor.add_contact("alice"))
        sidebar = w.sidebar
        qtbot.waitUntil(lambda: len(sidebar.request_rows) == 1)
        row = sidebar.request_rows[0]
        note = row.note
        assert note is not None and "Not the bob you know" in note.text()
        for width in (sidebar.minimumWidth(), 300):
            w.findChild(QSplitter, "mainSplitter").setSizes([width, 1200 - width])
            qtbot.waitUntil(lambda x=width: abs(sidebar.width() - x) <= 2)

            view = row.buttons[0]
            assert view.objectName() == "requestViewButton"

            def whole(n=note, b=view):
                r = n.contentsRect()
                need = n.fontMetrics().boundingRect(
                    QRect(0, 0, r.width(), 10_000), Qt.TextFlag.TextWordWrap, n.text())
                return (n.isVisible() and n.width() < sidebar.width()  # (laid out)
                        and need.width() <= r.width() and need.height() <= r.height()
                        and b.mapTo(row, QPoint(0, 0)).y() >= n.geometry().bottom())

            qtbot.waitUntil(whole)
    finally:
        aw(impostor.stop())


def test_group_info_with_a_long_member_name_fits_its_dialog(kith_apps, qtbot, aw):
    """Members are cut in the middle (the role stays at the end) instead of scrolling
    sideways; the name field shows the name's start; a long title wraps."""
    from kith.app.gui.groups import GroupInfoDialog

    alice, carol = kith_apps("alice"), kith_apps(LONG_NAME)
    _friends(aw, qtbot, alice, carol)
    group = "A group with a rather long name for testing elision in the dialog"
    conv = aw(alice.node.create_group(group, [LONG_NAME])).id
    dialog = GroupInfoDialog(alice.window.bridge, conv)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    panel = dialog.panel
    members = panel.members
    qtbot.waitUntil(lambda: members.count() == 2)
    viewport = members.viewport()
    qtbot.waitUntil(lambda: all(
        members.visualItemRect(members.item(i)).width() <= viewport.width()
        for i in range(members.count())))
    assert members.horizontalScrollBar().maximum() == 0
    assert dialog.width() <= 420  # the title wrapped instead of widening it
    assert panel.name_edit.cursorPosition() == 0
    assert panel.name_edit.cursorRect().left() < panel.name_edit.width() // 2
    long_item = next(members.item(i) for i in range(2)
                     if LONG_NAME in members.item(i).text())
    assert long_item.toolTip() == long_item.text()


def test_the_transfers_list_empty_says_so_and_its_buttons_wait_for_a_choice(kith_apps,
                                                                            qtbot):
    """With nothing moving, a line says so and Pause, Resume and Cancel are off (a blank
    box over three live buttons that did nothing)."""
    w = kith_apps("alice").window
    w.show()
    w.attachments.show_transfers()
    dialog = w.attachments.transfers
    qtbot.waitExposed(dialog)
    assert dialog.list.count() == 0
    empty = dialog.findChild(QLabel, "transfersEmpty")
    assert empty is not None and empty.isVisible() and empty.text()
    assert not dialog.list.isVisible()
    assert not any(b.isEnabled() for b in dialog.buttons.values())
    for theme_name in ("light", "dark"):  # readable on both
        theme.apply_theme(theme_name)
        qtbot.waitUntil(lambda t=theme_name: theme.is_dark(empty.palette()) == (t == "dark"))
        image = empty.grab().toImage()
        ground = empty.palette().color(empty.backgroundRole())
        assert _contrast(image, empty.rect(), ground) >= 80
    theme.apply_theme("light")


def test_dialog_buttons_are_words_without_icons(qtbot):
    """Kith's style says no to icons on dialog buttons even where the platform's says
    yes (X11 desktops put a red cross on Cancel and a green arrow on Continue only)."""
    from PySide6.QtWidgets import QDialogButtonBox, QProxyStyle, QStyle

    class IconsPlease(QProxyStyle):  # a platform that wants icons on them
        def styleHint(self, hint, option=None, widget=None, returnData=None):  # noqa: N802,N803
            if hint == QStyle.StyleHint.SH_DialogButtonBox_ButtonsHaveIcons:
                return 1
            return super().styleHint(hint, option, widget, returnData)

    style = theme.KithStyle(IconsPlease("fusion"))
    assert style.styleHint(QStyle.StyleHint.SH_DialogButtonBox_ButtonsHaveIcons) == 0
    box = QDialogButtonBox()
    qtbot.addWidget(box)
    box.setStyle(style)
    box.addButton(QDialogButtonBox.StandardButton.Cancel)  # (the icon is chosen here)
    assert box.button(QDialogButtonBox.StandardButton.Cancel).icon().isNull()


@pytest.mark.parametrize("variant", ["light", "dark"])
def test_a_disabled_radio_button_looks_disabled(qtbot, variant):
    """Its label is greyed (first start: "In the system keyring" without a keyring read
    as a choice one could make)."""
    theme.apply_theme(variant)
    try:
        boxes = []
        for enabled in (True, False):
            b = QRadioButton("In the system keyring (recommended)")
            qtbot.addWidget(b)
            b.setEnabled(enabled)
            b.resize(b.sizeHint())
            boxes.append(b)
        ground = boxes[0].palette().color(boxes[0].backgroundRole())
        on, off = (_contrast(b.grab().toImage(), b.rect(), ground) for b in boxes)
        assert off < on * 0.75, (on, off)
    finally:
        theme.apply_theme("light")


def test_the_protection_dialog_grows_with_its_error_line(qtbot):
    """"The two passphrases differ." appears under the fields and the dialog grows:
    under a window manager it stayed the same height and squeezed the wrapped lines
    above, cut in half."""
    from PySide6.QtWidgets import QLabel as Label

    from kith.app.gui.unlock import ProtectionDialog
    from kith.p2p.oskeyring import KeyringStatus

    reason = ("no keyring service on this machine (a desktop session's keyring such as "
              "GNOME Keyring or KWallet is needed): use a passphrase instead")
    dialog = ProtectionDialog(KeyringStatus(False, "", reason))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    before = dialog.height()
    dialog.first.setText("correct horse")
    dialog.second.setText("battery staple")
    dialog.accept()
    assert dialog.error.isVisible() and dialog.isVisible()

    def laid_out() -> bool:
        return all(lb.height() >= lb.heightForWidth(lb.width())
                   for lb in dialog.findChildren(Label) if lb.isVisible() and lb.wordWrap())

    qtbot.waitUntil(laid_out)
    assert dialog.height() > before
    dialog.none.setChecked(True)  # the warning under "No protection" gets its room too
    qtbot.waitUntil(lambda: dialog.warning.isVisible() and laid_out())


def test_search_marks_follow_a_switch_to_dark(tmp_path, qtbot, aw):
    """The marks of results on screen take the dark theme's colour: the light yellow
    stayed, under text turned white."""
    profile = tmp_path / "alice"
    write_long_chat(profile, 3, lambda i: f"message {i} about pizza")
    kith = KithApp(Node(profile, NodeOptions(network=False)))
    w = aw(kith.start())
    try:
        w.resize(1000, 640)
        qtbot.waitExposed(w)
        qtbot.keyClicks(w.sidebar.search, "pizza")
        results = w.sidebar.results
        qtbot.waitUntil(lambda: results.isVisible() and results.count() == 3)
        light = theme.search_mark(theme.light_palette()).name()
        dark = theme.search_mark(theme.dark_palette()).name()
        assert light in results.itemWidget(results.item(0)).text()
        theme.apply_theme("dark")
        qtbot.waitUntil(lambda: results.count() == 3 and all(
            dark in results.itemWidget(results.item(i)).text() for i in range(3)))
    finally:
        theme.apply_theme("light")
        aw(kith.stop())


def _ink(image, background: QColor) -> QRect:
    """The bounding box of what is drawn on ``background`` in ``image``."""
    xs, ys = [], []
    for x in range(image.width()):
        for y in range(image.height()):
            c = image.pixelColor(x, y)
            if max(abs(c.red() - background.red()), abs(c.green() - background.green()),
                   abs(c.blue() - background.blue())) > 40:
                xs.append(x)
                ys.append(y)
    return QRect(QPoint(min(xs), min(ys)), QPoint(max(xs), max(ys))) if xs else QRect()


def test_the_emoji_pickers_glyphs_fill_their_cells(qtbot):
    """Each emoji is drawn large in a square cell: they were small marks in wide cells
    (emoji fonts draw smaller than text of the same size)."""
    from PySide6.QtGui import QFontDatabase

    from kith.app.gui.emoji import EmojiPicker

    if not any("emoji" in f.lower() and "color" in f.lower() for f in QFontDatabase.families()):
        pytest.skip("no colour emoji font here (Debian: fonts-noto-color-emoji; .ci/run "
                    "installs it): emoji are drawn as small outlines")
    picker = EmojiPicker()
    qtbot.addWidget(picker)
    picker.adjustSize()
    for emoji in ("😀", "👍", "🎉", "🔥"):
        b = picker.buttons[emoji]
        assert abs(b.width() - b.height()) <= 2, b.size()
        ink = _ink(b.grab().toImage(), b.palette().color(b.backgroundRole()))
        side = max(b.width(), b.height())
        assert max(ink.width(), ink.height()) >= 0.65 * side, (emoji, ink.size(), b.size())


def test_a_file_card_widens_for_a_long_name_where_the_bubble_has_room(qtbot):
    """The whole name shows when the bubble could be wider: the card kept its 280 px and
    cut "…" into the middle of the name; a name longer than the bubble is still cut."""
    from PySide6.QtGui import QGuiApplication, QImage, QPainter

    from kith.app.gui.filebubbles import CARD_W, FilesLayout, Item
    from kith.p2p.files.descriptor import Attachment

    layout = FilesLayout(files=None)  # (sizes and painting need no node)
    drawn: list[str] = []

    class Recording(QPainter):  # what the card writes
        def drawText(self, *args):  # noqa: N802
            drawn.append(args[-1])
            return super().drawText(*args)

    def card(name: str, max_w: int) -> tuple[int, list[str]]:
        item = Item(Attachment(b"\x01" * 32, name, 2_000_000, 65536, "application/pdf"),
                    {"state": "complete"})
        w, h = layout.item_size(item, max_w)
        image = QImage(max_w, h, QImage.Format.Format_ARGB32)
        p = Recording(image)
        p.setFont(QGuiApplication.font())
        drawn.clear()
        layout._paint_card(p, item, QRect(0, 0, w, h), QApplication.palette(), False)
        p.end()
        return w, list(drawn)

    name = "Quarterly report of the garden club, final version (2).pdf"
    w, texts = card(name, 600)
    assert CARD_W < w <= 600 and name in texts, (w, texts)
    short = "notes.txt"
    assert card(short, 600)[0] == CARD_W  # (a short name: the card as before)
    w, texts = card(name * 3, 600)
    assert w == 600 and any("\u2026" in t for t in texts)  # at most the bubble's width
    assert card(short, 200)[0] == 200  # (a narrow bubble: as narrow as it)


def test_the_delete_chat_dialog_reads_in_lines_of_a_readable_width(qtbot):
    """Its explanation runs in lines of about fifty characters: it wrapped in a column as
    narrow as "Delete this chat with bob?", eight lines of 26."""
    from types import SimpleNamespace

    from kith.app.gui.convmenu import DeleteChatDialog

    bridge = SimpleNamespace(contact=lambda _user: SimpleNamespace(name="bob"))
    dialog = DeleteChatDialog(bridge, b"\x07" * 32)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    [body] = [lb for lb in dialog.findChildren(QLabel)
              if lb.isVisible() and lb.text() == dialog.informativeText()]
    chars = body.width() / body.fontMetrics().averageCharWidth()
    lines = body.height() / body.fontMetrics().lineSpacing()
    assert chars >= 45 and lines <= 6, (chars, lines)
    assert dialog.width() <= 640


@pytest.mark.parametrize("variant", ["dark", "light"])
def test_a_line_divides_the_sidebar_from_the_empty_window(kith_apps, qtbot, variant):
    """With no chat open the welcome pane has the sidebar's colour: in dark mode nothing
    showed where one ends and the other starts (the splitter's grip, a few dots at half
    height, aside)."""
    w = kith_apps("alice").window
    w.resize(980, 640)
    w.show()
    qtbot.waitExposed(w)
    assert w.stack.currentWidget() is w.empty
    theme.apply_theme(variant)
    try:
        qtbot.waitUntil(lambda: theme.is_dark(w.palette()) == (variant == "dark"))
        handle = w.splitter.handle(1)
        image = w.grab().toImage()
        ground = w.palette().color(QPalette.ColorRole.Window)
        left = handle.mapTo(w, QPoint(0, 0)).x()
        for y in (60, w.height() - 60):  # (above and below the grip)
            row = QRect(left - 2, y, handle.width() + 4, 1)
            assert _contrast(image, row, ground) >= 25, (variant, y)
    finally:
        theme.apply_theme("light")


def test_a_contact_request_shows_in_the_narrow_sidebar(kith_apps, qtbot, aw, tmp_path):
    """A narrow window's sidebar (avatars only) shows a request as its asker's avatar,
    marked, that opens it: the whole Requests section was hidden there."""
    w = kith_apps("alice").window
    w.resize(640, 600)
    w.show()
    qtbot.waitExposed(w)
    sidebar = w.sidebar
    qtbot.waitUntil(lambda: sidebar.compact)
    asker = make_node(tmp_path, "Dana Whitfield", profile="asker")
    aw(asker.start())
    try:
        aw(asker.connect("127.0.0.1", w.bridge.node.port))
        aw(asker.add_contact("alice"))
        qtbot.waitUntil(lambda: len(sidebar.request_rows) == 1)
        row = sidebar.request_rows[0]
        viewport = sidebar.column_scroll.viewport()

        def shown() -> bool:
            r = QRect(row.avatar.mapTo(viewport, QPoint(0, 0)), row.avatar.size())
            return row.avatar.isVisible() and viewport.rect().contains(r)

        qtbot.waitUntil(shown)
        assert not row.name.isVisible() and not any(b.isVisible() for b in row.buttons)
        assert "Dana Whitfield" in row.toolTip() and row.accessibleName()
        ground = viewport.palette().color(QPalette.ColorRole.Window)
        assert _contrast(row.grab().toImage(), row.avatar.geometry(), ground) >= 60
        qtbot.mouseClick(row, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.current == row.user)
        w.resize(1000, 600)  # wide again: the row with its name and buttons
        qtbot.waitUntil(lambda: not sidebar.compact and len(sidebar.request_rows) == 1
                        and sidebar.request_rows[0].name.isVisible()
                        and all(b.isVisible() for b in sidebar.request_rows[0].buttons))
    finally:
        aw(asker.stop())
