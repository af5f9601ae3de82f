"""Kith's data files, installed as the package data of ``app.resources`` (``app/resources``
links here): the app icon (``kith.svg``), the symbolic tray icon, the toolbar icons
(``icons/``), the desktop entry and the AppStream metainfo.

``app/gui/resources.py`` finds them with ``importlib.resources`` and ``kith
desktop-install`` copies them where desktops look (``app/desktop_install.py``).
``screenshots/`` (for the README) is not installed.
"""
