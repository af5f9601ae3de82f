"""The app's language: Qt translations (``self.tr`` / ``QCoreApplication.translate`` in
``app/gui``), their build, and the choice of language.

The language is, in order: ``KITH_LANG`` (tests, or a one-off ``KITH_LANG=de kith``), the
choice in Settings (stored per device in the profile's ``language`` file, read before the
profile is unlocked so that the unlock dialog is translated too), else the system locale
(Qt's ``QLocale.system()``, which follows ``LANGUAGE``/``LC_ALL``/``LC_MESSAGES``/``LANG``).
A new choice takes effect when Kith restarts.

Build the translation files (the ``.qm`` files are committed and installed as package data,
so an install needs no Qt tools)::

    python -m kith.app.gui.i18n build      # lupdate app/gui -> kith_<lang>.ts, lrelease -> .qm
    python -m kith.app.gui.i18n check      # fails if a message of a .ts file is unfinished
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET  # noqa: S405 (our own .ts files)
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from kith.app.gui.resources import data_files

LANGUAGES: dict[str, str] = {"en": "English", "de": "Deutsch"}
"""The languages the app speaks: code → its own name (as the language choice shows it)."""
SYSTEM = "system"
TRANSLATED = ("de",)
"""The languages with a translation file (English is the source)."""
ENV = "KITH_LANG"
LANGUAGE_FILE = "language"

_installed: list[QTranslator] = []
_speaking = ["en"]  # the language of the texts now (install() sets it)


def i18n_dir() -> Path:
    """Where ``kith_<lang>.ts`` and ``.qm`` are (the data package's ``i18n/``)."""
    return Path(str(data_files() / "i18n"))


def saved_language(profile: Path | None) -> str:
    """The choice stored for this device: a code of :data:`LANGUAGES`, or ``system``."""
    if profile is None:
        return SYSTEM
    try:
        text = (Path(profile) / LANGUAGE_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return SYSTEM
    return text if text in LANGUAGES else SYSTEM


def save_language(profile: Path, choice: str) -> None:
    """Store ``choice`` (a code of :data:`LANGUAGES` or ``system``) for this device."""
    if choice != SYSTEM and choice not in LANGUAGES:
        raise ValueError(f"{choice!r} is not a language: system, {', '.join(LANGUAGES)}")
    path = Path(profile) / LANGUAGE_FILE
    if choice == SYSTEM:
        path.unlink(missing_ok=True)
    else:
        path.write_text(choice + "\n", encoding="utf-8")


def chosen_locale(profile: Path | None = None) -> QLocale:
    """The locale the app speaks and writes dates in (see the module's order)."""
    choice = os.environ.get(ENV, "").strip() or saved_language(profile)
    if choice == SYSTEM or not choice:
        return QLocale.system()
    if choice == "en":
        # English words; the system's country only if the system speaks English too
        system = QLocale.system()
        if system.language() == QLocale.Language.English:
            return system
        return QLocale(QLocale.Language.English, QLocale.Country.UnitedStates)
    locale = QLocale(choice)
    system = QLocale.system()
    if system.language() == locale.language():
        return system  # de chosen on a de_AT system: Austrian dates
    return locale


def install(app: QCoreApplication, locale: QLocale) -> str:
    """Speak ``locale``'s language: remove earlier translators, load Kith's and Qt's own
    (the standard buttons: Abbrechen, Speichern), and make ``locale`` the default for dates.
    Returns the language code in use (``en`` when there is no translation)."""
    uninstall(app)
    QLocale.setDefault(locale)
    code = _translation_for(locale)
    if code is None:
        return "en"
    kith = QTranslator(app)
    if not kith.load(str(i18n_dir() / f"kith_{code}.qm")):
        return "en"
    qt = QTranslator(app)
    if qt.load(locale, "qtbase", "_", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt)
        _installed.append(qt)
    app.installTranslator(kith)
    _installed.append(kith)
    _speaking[0] = code
    return code


def _translation_for(locale: QLocale) -> str | None:
    """The first of ``locale``'s UI languages that Kith speaks (the system locale's follow
    ``LANGUAGE``, e.g. ``de:en``); None for English or one without a translation."""
    for tag in [*locale.uiLanguages(), QLocale.languageToCode(locale.language())]:
        code = tag.replace("_", "-").split("-")[0].lower()
        if code == "en":
            return None
        if code in TRANSLATED:
            return code
    return None


def speaking() -> str:
    """The language code of the app's texts now (``en`` without a translation)."""
    return _speaking[0]


def uninstall(app: QCoreApplication) -> None:
    """Back to the source language (English) and the system's locale."""
    while _installed:
        app.removeTranslator(_installed.pop())
    _speaking[0] = "en"
    QLocale.setDefault(QLocale.system())


@functools.cache
def _sas_table(code: str) -> dict[str, str]:
    """English SAS emoji name → its name in ``code`` (from Matrix's sas-emoji.json)."""
    path = i18n_dir() / "sas-emoji.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(e["description"]): str(e["name"]) for e in data.get(code, []) if e.get("name")}


def sas_name(english: str) -> str:
    """A SAS emoji's name (``p2p.fingerprint.SAS_EMOJI`` keeps the English ones) in the
    language the app speaks."""
    code = speaking()
    return _sas_table(code).get(english, english) if code in TRANSLATED else english


def _tool(name: str) -> str:
    """A Qt tool shipped with PySide6 (``pyside6-lupdate``), next to this Python first."""
    here = Path(sys.executable).parent / f"pyside6-{name}"
    found = str(here) if here.exists() else shutil.which(f"pyside6-{name}")
    if not found:
        raise SystemExit(f"pyside6-{name} not found: install PySide6 (pip install -e .)")
    return found


def sources() -> list[Path]:
    return sorted(Path(__file__).parent.glob("*.py"))


def build(out: Path | None = None) -> None:
    """lupdate over ``app/gui`` into each ``kith_<lang>.ts`` of ``out`` (the data package's
    by default; kept translations stay, vanished ones are dropped), then lrelease into
    ``.qm``."""
    out = out or i18n_dir()
    out.mkdir(exist_ok=True)
    for code in TRANSLATED:
        ts = out / f"kith_{code}.ts"
        subprocess.run(
            [_tool("lupdate"), "-silent", "-no-obsolete", "-locations", "none",
             "-source-language", "en", "-target-language", code,
             *map(str, sources()), "-ts", str(ts)],
            check=True,
        )
        subprocess.run(
            [_tool("lrelease"), "-silent", str(ts), "-qm", str(ts.with_suffix(".qm"))],
            check=True,
        )


def unfinished(ts: Path) -> list[str]:
    """The source texts of ``ts`` without a finished translation."""
    root = ET.parse(ts).getroot()  # noqa: S314 (our own file)
    missing = []
    for message in root.iter("message"):
        source = message.findtext("source") or ""
        translation = message.find("translation")
        if translation is None or translation.get("type") in ("unfinished", "vanished"):
            missing.append(source)
        elif message.get("numerus") == "yes":
            forms = [f.text for f in translation.iter("numerusform")]
            if not forms or not all(forms):
                missing.append(source)
        elif not (translation.text or "").strip():
            missing.append(source)
    return missing


def check() -> int:
    bad = 0
    for code in TRANSLATED:
        ts = i18n_dir() / f"kith_{code}.ts"
        for source in unfinished(ts):
            print(f"{ts.name}: unfinished: {source!r}")
            bad += 1
    return 1 if bad else 0


def main(argv: list[str]) -> int:
    if argv == ["build"]:
        build()
        return check()
    if argv == ["check"]:
        return check()
    print("usage: python -m kith.app.gui.i18n build|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
