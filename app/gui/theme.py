"""Palettes (system / light / dark) and the colours the delegates derive from them."""

from __future__ import annotations

import hashlib

from PySide6.QtCore import QByteArray, QEvent, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QIcon,
    QPainter,
    QPaintEvent,
    QPalette,
    QPixmap,
)
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import (
    QApplication,
    QProxyStyle,
    QStyle,
    QStyleHintReturn,
    QStyleOption,
    QStyleOptionToolButton,
    QStylePainter,
    QToolButton,
    QWidget,
)

from kith.app.gui.resources import ui_icon_path

THEMES = ("system", "light", "dark")
ACCENT = QColor("#0a84ff")

def light_palette() -> QPalette:
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#f5f5f7",
        QPalette.ColorRole.WindowText: "#1d1d1f",
        QPalette.ColorRole.Base: "#ffffff",
        QPalette.ColorRole.AlternateBase: "#f0f0f2",
        QPalette.ColorRole.Text: "#1d1d1f",
        QPalette.ColorRole.Button: "#ececee",
        QPalette.ColorRole.ButtonText: "#1d1d1f",
        QPalette.ColorRole.Highlight: "#0a7cff",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#0a64d8",
        QPalette.ColorRole.PlaceholderText: "#8a8a8e",
        QPalette.ColorRole.ToolTipBase: "#ffffff",
        QPalette.ColorRole.ToolTipText: "#1d1d1f",
        QPalette.ColorRole.Mid: "#c8c8cc",
        QPalette.ColorRole.Midlight: "#e2e2e6",
        QPalette.ColorRole.Dark: "#9a9a9e",
        QPalette.ColorRole.Light: "#ffffff",
        QPalette.ColorRole.BrightText: "#ffffff",
    }
    for role, colour in roles.items():
        p.setColor(role, QColor(colour))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#a0a0a4"))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#a0a0a4"))
    # (labels of check boxes and radio buttons: a disabled one looked enabled)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor("#a0a0a4"))
    return p


def dark_palette() -> QPalette:
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#1e1e20",
        QPalette.ColorRole.WindowText: "#f2f2f7",
        QPalette.ColorRole.Base: "#161618",
        QPalette.ColorRole.AlternateBase: "#242428",
        QPalette.ColorRole.Text: "#f2f2f7",
        QPalette.ColorRole.Button: "#2c2c30",
        QPalette.ColorRole.ButtonText: "#f2f2f7",
        QPalette.ColorRole.Highlight: "#0a84ff",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#64a8ff",
        QPalette.ColorRole.PlaceholderText: "#8d8d93",
        QPalette.ColorRole.ToolTipBase: "#2c2c30",
        QPalette.ColorRole.ToolTipText: "#f2f2f7",
        QPalette.ColorRole.Mid: "#48484c",
        QPalette.ColorRole.Midlight: "#38383c",
        QPalette.ColorRole.Dark: "#0c0c0e",
        QPalette.ColorRole.Light: "#58585c",
        QPalette.ColorRole.BrightText: "#ffffff",
    }
    for role, colour in roles.items():
        p.setColor(role, QColor(colour))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#6a6a70"))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#6a6a70"))
    # (labels of check boxes and radio buttons: a disabled one looked enabled)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor("#6a6a70"))
    return p


def apply_theme(theme: str) -> None:
    """Set the application palette: Kith's light or dark one ("system": the one the
    desktop's colour scheme asks for, light if it says nothing)."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return
    if theme == "dark":
        app.setPalette(dark_palette())
    elif theme == "light":
        app.setPalette(light_palette())
    else:
        hints = QGuiApplication.styleHints()
        scheme = hints.colorScheme()
        if scheme == hints.colorScheme().Dark:
            app.setPalette(dark_palette())
        else:  # light, or a desktop that says nothing: Kith's light palette, not stock grey
            app.setPalette(light_palette())
    if not isinstance(app.style(), KithStyle):
        app.setStyle(KithStyle(app.style().name()))


class KithStyle(QProxyStyle):
    """The platform's style, with the edges a dark palette loses drawn back in: the
    boxes of check boxes and radio buttons, and the border of menus (Fusion draws them
    a shade darker than the window, which on a dark window is invisible); and a line
    down a splitter's handle, which divides the sidebar from the pane next to it also
    where both have the window's colour (the welcome pane with no chat open)."""

    def drawControl(self, element: QStyle.ControlElement, option: QStyleOption,  # noqa: N802
                    painter: QPainter, widget: QWidget | None = None) -> None:
        super().drawControl(element, option, painter, widget)
        if element == QStyle.ControlElement.CE_Splitter:
            r = option.rect
            painter.save()
            painter.setPen(option.palette.color(QPalette.ColorRole.Mid))
            if option.state & QStyle.StateFlag.State_Horizontal:  # (side by side: upright)
                x = r.center().x()
                painter.drawLine(x, r.top(), x, r.bottom())
            else:
                y = r.center().y()
                painter.drawLine(r.left(), y, r.right(), y)
            painter.restore()

    def styleHint(self, hint: QStyle.StyleHint, option: QStyleOption | None = None,  # noqa: N802
                  widget: QWidget | None = None,
                  returnData: QStyleHintReturn | None = None) -> int:  # noqa: N803
        # dialog buttons are words, as in Messages or Signal: some X11 desktops gave
        # Cancel a red cross and Continue a green arrow, but not "Get started"
        if hint == QStyle.StyleHint.SH_DialogButtonBox_ButtonsHaveIcons:
            return 0
        return super().styleHint(hint, option, widget, returnData)

    def drawPrimitive(self, element: QStyle.PrimitiveElement, option: QStyleOption,  # noqa: N802
                      painter: QPainter, widget: QWidget | None = None) -> None:
        pe = QStyle.PrimitiveElement
        dark = is_dark(option.palette)
        if dark and element == pe.PE_PanelMenu:
            painter.save()
            painter.setPen(option.palette.color(QPalette.ColorRole.Mid))
            painter.setBrush(option.palette.color(QPalette.ColorRole.Button))
            painter.drawRect(option.rect.adjusted(0, 0, -1, -1))
            painter.restore()
            return
        if dark and element == pe.PE_FrameMenu:
            painter.save()
            painter.setPen(option.palette.color(QPalette.ColorRole.Mid))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(option.rect.adjusted(0, 0, -1, -1))
            painter.restore()
            return
        super().drawPrimitive(element, option, painter, widget)
        if dark and element in (pe.PE_IndicatorCheckBox, pe.PE_IndicatorRadioButton):
            painter.save()
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            edge = QColor(option.palette.color(QPalette.ColorRole.Text))
            edge.setAlphaF(0.55)
            painter.setPen(edge)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            r = QRectF(option.rect).adjusted(0.5, 0.5, -0.5, -0.5)
            if element == pe.PE_IndicatorRadioButton:
                painter.drawEllipse(r)
            else:
                painter.drawRoundedRect(r, 2, 2)
            painter.restore()


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def incoming_bubble(palette: QPalette) -> QColor:
    base = palette.color(QPalette.ColorRole.Base)
    return QColor("#3a3a3e") if is_dark(palette) else base.darker(109)


def muted_text(palette: QPalette) -> QColor:
    return palette.color(QPalette.ColorRole.PlaceholderText)


def avatar_colour(user: bytes) -> QColor:
    hue = hashlib.blake2b(user, digest_size=2).digest()[0] * 360 // 256
    return QColor.fromHsl(hue, 120, 120)


def online_colour() -> QColor:
    return QColor("#30c04f")


def search_mark(palette: QPalette) -> QColor:
    """The background of a search match."""
    return QColor("#8a6d00") if is_dark(palette) else QColor("#ffe27a")


def warning_colour(palette: QPalette) -> QColor:
    return QColor("#ffb340") if is_dark(palette) else QColor("#b25000")


def ui_icon(name: str, colour: QColor, size: int = 18) -> QIcon | None:
    """``resources/icons/NAME.svg`` drawn in ``colour`` (the files use ``currentColor``),
    at 1x and 2x; None if the file is missing or unreadable."""
    path = ui_icon_path(name)
    if path is None:
        return None
    try:
        svg = path.read_text(encoding="utf-8").replace("currentColor", colour.name())
    except (OSError, UnicodeDecodeError):
        return None
    renderer = QSvgRenderer(QByteArray(svg.encode()))
    if not renderer.isValid():
        return None
    icon = QIcon()
    for scale in (1, 2):
        pixmap = QPixmap(size * scale, size * scale)
        pixmap.fill(Qt.GlobalColor.transparent)
        pixmap.setDevicePixelRatio(scale)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        icon.addPixmap(pixmap)
    return icon


class IconButton(QToolButton):
    """A tool button with an icon from ``resources/icons`` in the palette's button text
    colour, redrawn when the palette (the theme) changes; ``fallback`` text if the icon
    file is missing."""

    def __init__(self, icon: str, fallback: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.icon_name = icon
        self._fallback = fallback
        self.setAutoRaise(True)
        self._tint()

    def _tint(self) -> None:
        icon = ui_icon(self.icon_name, self.palette().color(QPalette.ColorRole.ButtonText))
        if icon is None:
            self.setText(self._fallback)
        else:
            self.setIcon(icon)
            self.setIconSize(QSize(18, 18))

    def changeEvent(self, e: QEvent) -> None:
        super().changeEvent(e)
        if e.type() == QEvent.Type.PaletteChange:
            self._tint()

    def paintEvent(self, e: QPaintEvent) -> None:
        # no menu arrow: an icon button with a menu (the timer) is just its icon; a style
        # sheet that hid the arrow pinned the palette, so the icon missed a theme change
        p = QStylePainter(self)
        opt = QStyleOptionToolButton()
        self.initStyleOption(opt)
        opt.features &= ~QStyleOptionToolButton.ToolButtonFeature.HasMenu
        p.drawComplexControl(QStyle.ComplexControl.CC_ToolButton, opt)
