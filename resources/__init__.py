"""Kith's data files, installed as package data: the app icon (``kith.svg``), the symbolic
tray icon, the toolbar icons (``icons/``), the desktop entry and the AppStream metainfo.

``app/gui/resources.py`` finds them with ``importlib.resources`` and ``kith
desktop-install`` copies them where desktops look (``app/desktop_install.py``).
``screenshots/`` (for the README) is not installed.
"""
