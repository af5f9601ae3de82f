"""A profile with one long chat written straight to storage (no network, no signing):
what the GUI tests and the GUI benchmark open and scroll through; and the set-ups the
GUI tests share: two apps befriended, a chat opened by a click in the sidebar, and an
impostor (another key with a known person's name) asking to be a contact.

(Qt is imported inside the helpers that drive widgets: the unit tests import this too.)"""

from __future__ import annotations

import contextlib
import inspect
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from nodekit import befriend, make_node

from kith.p2p.events import direct_conversation
from kith.p2p.node import Node
from kith.p2p.profile import DB_FILE, create_identity
from kith.storage import STATUS_READ, MessageRow, Store


def write_long_chat(
    profile: Path, n: int, text: Callable[[int], str], *, outgoing_every: int = 3,
    spacing_ms: int = 60_000,
) -> bytes:
    """Create ``profile`` (user "alice") with an accepted contact "bob" and ``n`` messages
    with him, all read; message ``i`` says ``text(i)``, every ``outgoing_every``-th one is
    mine (sent from a linked device of mine), one every ``spacing_ms`` up to now. Returns
    bob's user id."""
    me = create_identity(profile, "alice", "desk")
    bob_user, bob_device, my_device = os.urandom(32), os.urandom(32), os.urandom(32)
    conv = direct_conversation(me.user_id, bob_user)
    start = int(time.time() * 1000) - n * spacing_ms
    rows = []
    for i in range(n):
        out = i % outgoing_every == 0
        rows.append(MessageRow(
            i.to_bytes(32, "big"), conv, my_device if out else bob_device,
            me.user_id if out else bob_user, i + 1, i + 1, start + i * spacing_ms, text(i), out,
        ))
    store = Store(profile / DB_FILE)
    try:
        with store.transaction():
            store.upsert_contact(bob_user, name="bob", state="accepted")
            store.ensure_conversation(
                conv, "direct", [(me.user_id, "member"), (bob_user, "member")],
                peer_user=bob_user,
            )
            store.insert_messages(rows)
            store.raise_mark(conv, bob_device, n, STATUS_READ)
            store.raise_mark(conv, my_device, n, STATUS_READ)
    finally:
        store.close()
    return bob_user


def write_contacts(profile: Path, names: list[str], *, me: str = "alice") -> list[bytes]:
    """Create ``profile`` (user ``me``) with accepted contacts called ``names`` (random
    keys, never online) and one message from each, newest first in ``names``' order.
    Returns their user ids, in that order."""
    ident = create_identity(profile, me, "desk")
    now = int(time.time() * 1000)
    users = []
    store = Store(profile / DB_FILE)
    try:
        with store.transaction():
            for i, name in enumerate(names):
                user, device = os.urandom(32), os.urandom(32)
                conv = direct_conversation(ident.user_id, user)
                store.upsert_contact(user, name=name, state="accepted")
                _direct_conversation(store, conv, ident.user_id, user)
                store.insert_messages([MessageRow(
                    os.urandom(32), conv, device, user, 1, 1, now - i * 60_000,
                    f"hello from {name}", False)])
                store.raise_mark(conv, device, 1, STATUS_READ)
                users.append(user)
    finally:
        store.close()
    return users


def _direct_conversation(store: Store, conv: bytes, me: bytes, peer: bytes) -> None:
    """``ensure_conversation`` for a direct chat, with the storage API before and after
    its change to a members list (the core is being reshaped while this helper lives)."""
    if "members" in inspect.signature(store.ensure_conversation).parameters:
        store.ensure_conversation(conv, "direct", [(me, "member"), (peer, "member")],
                                  peer_user=peer)  # type: ignore[call-arg]
    else:
        store.ensure_conversation(conv, "direct", peer)


def friends(aw: Any, qtbot: Any, a: Any, b: Any) -> None:
    """Befriend two apps (``kith_apps``) and wait until each has the other accepted:
    befriend() returns once ``a`` has *any* accepted contact."""
    aw(befriend(a.node, b.node))
    for x, y in ((a, b), (b, a)):
        qtbot.waitUntil(lambda x=x, y=y: any(
            c.user_id == y.node.user_id and c.state == "accepted" for c in x.node.contacts()))


def open_chat(qtbot: Any, window: Any, name: str) -> None:
    """Open the conversation called ``name`` by a click on its sidebar row."""
    from PySide6.QtCore import Qt

    model = window.conversations
    qtbot.waitUntil(lambda: any(model.item(i).name == name for i in range(model.rowCount())))
    row = next(i for i in range(model.rowCount()) if model.item(i).name == name)
    user = model.item(row).user_id
    rect = window.sidebar.list.visualRect(model.index(row))
    qtbot.mouseClick(window.sidebar.list.viewport(), Qt.MouseButton.LeftButton,
                     pos=rect.center())
    qtbot.waitUntil(lambda: window.current == user)


@contextlib.contextmanager
def impostor_asking(aw: Any, qtbot: Any, root: Path, app: Any, name: str = "bob") -> Iterator[Node]:
    """A node called ``name`` with a key of its own (profile ``impostor`` under ``root``)
    that asks ``app`` to be a contact; yields it once ``app`` shows its request row, and
    stops it after."""
    from PySide6.QtWidgets import QPushButton

    node = make_node(root, name, profile="impostor")
    aw(node.start())
    try:
        aw(node.connect("127.0.0.1", app.node.port))
        aw(node.add_contact(app.node.name))
        qtbot.waitUntil(lambda: len([
            b for b in app.window.findChildren(QPushButton, "requestViewButton")
            if b.isVisible()]) == 1)
        yield node
    finally:
        aw(node.stop())
