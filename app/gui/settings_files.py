"""The files part of Settings: files from contacts and my devices download by themselves
(on/off) up to a size (default 25 MB); larger ones, and any from others, wait for a
click. It is the synced setting ``auto_download`` (bytes; 0: off), so it follows me to my
other devices."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QHBoxLayout, QWidget

from kith.p2p.files.feature import AUTO_DOWNLOAD

MB = 1000 * 1000
MAX_MB = 4096.0  # (files are at most 4 GiB)
KEY = "auto_download"


def limit_of(value: Any) -> int:
    """The stored setting as bytes (the default if it is missing or not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return AUTO_DOWNLOAD
    return max(0, int(value))


class AutoDownload(QWidget):
    """A checkbox (on/off) and the size limit in MB."""

    def __init__(self, value: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsAutoDownload")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.enabled = QCheckBox(self.tr("Download files by themselves up to"))
        self.enabled.setObjectName("settingsAutoDownloadOn")
        self.enabled.setToolTip(self.tr(
            "Files from your contacts and your own devices; files from anyone else "
            "always wait for a click"))
        self.limit = QDoubleSpinBox()
        self.limit.setObjectName("settingsAutoDownloadLimit")
        self.limit.setRange(0.1, MAX_MB)
        self.limit.setDecimals(1)
        self.limit.setSuffix(self.tr(" MB"))
        self.limit.setAccessibleName(self.tr("Largest file that downloads by itself"))
        row.addWidget(self.enabled)
        row.addWidget(self.limit)
        row.addStretch(1)
        stored = limit_of(value)
        self.enabled.setChecked(stored > 0)
        self.limit.setValue((stored or AUTO_DOWNLOAD) / MB)
        self.limit.setEnabled(stored > 0)
        self.enabled.toggled.connect(self.limit.setEnabled)

    def value(self) -> int:
        """The setting to store: bytes, 0 when off."""
        return round(self.limit.value() * MB) if self.enabled.isChecked() else 0
