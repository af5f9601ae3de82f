"""Kith, a peer-to-peer LAN messenger.

The repository keeps its three layers at the top (``app/``, ``p2p/``, ``storage/``); they
are installed as ``kith.app``, ``kith.p2p`` and ``kith.storage`` (in a checkout, through
the links in this folder), so no other distribution's ``app`` or ``storage`` can collide
with them. ``python -m kith`` opens the app, as the ``kith`` command does.
"""
