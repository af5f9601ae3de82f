"""Render the README screenshots offscreen: first start, a conversation with receipts,
emoji and the typing indicator next to a contact request from someone with a long name,
contact info with safety number and QR, Settings, and a group chat with a photo, a reply
and reactions; light and dark.

Run inside a private network namespace (two nodes talk over loopback)::

    unshare -n sh -c 'ip link set lo up; QT_QPA_PLATFORM=offscreen \\
        .venv/bin/python -m kith.app.gui.screenshots resources/screenshots'
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PySide6.QtWidgets import QApplication, QWidget

from kith.app.gui import theme
from kith.app.gui.app import KithApp
from kith.app.gui.dialogs import FirstStartDialog
from kith.app.gui.models import MsgRole
from kith.p2p.connection import Timing
from kith.p2p.node import Node, NodeOptions
from kith.p2p.profile import create_identity


def _node(root: Path, name: str) -> Node:
    create_identity(root / name, name)
    return Node(root / name, NodeOptions(interfaces=["127.0.0.1"], port=0, discovery=False,
                                         timing=Timing(handshake=2, keepalive=1, dead_after=3)))


async def _until(pred: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise TimeoutError("the demo did not settle")
        await asyncio.sleep(0.02)


def _photo(path: Path) -> Path:
    """A picture to send: an evening sky over hills (drawn, so no image file is needed)."""
    from PIL import Image, ImageDraw

    w, h = 960, 640
    img = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(img)
    for y in range(h):  # sky: deep blue to orange
        t = y / h
        draw.line([(0, y), (w, y)], fill=(int(40 + 200 * t), int(60 + 90 * t), int(140 - 60 * t)))
    draw.ellipse((600, 330, 720, 450), fill=(255, 214, 120))
    draw.polygon([(0, 470), (260, 360), (520, 470), (760, 390), (960, 460), (960, 640),
                  (0, 640)], fill=(38, 52, 70))
    draw.polygon([(0, 560), (340, 470), (700, 560), (960, 520), (960, 640), (0, 640)],
                 fill=(24, 32, 44))
    img.save(path, "JPEG", quality=88)
    return path


async def _group_scene(alice: Node, bob: Node, dana: Node, root: Path) -> bytes:
    """Alice, Bob and Dana in "Board games" (Bob and Dana are not contacts): a photo with
    a caption, a reply to it, reactions. Returns the group's id."""
    await dana.connect("127.0.0.1", alice.port)
    await dana.add_contact("Alice Martin")
    await _until(lambda: any(c.state == "pending_in" and c.user_id == dana.user_id
                             for c in alice.contacts()))
    await alice.accept_contact("Dana Whitfield")
    await _until(lambda: any(c.state == "accepted" for c in dana.contacts()))
    info = await alice.create_group("Board games", ["Bob Okafor", "Dana Whitfield"])
    conv = info.id
    await _until(lambda: all(any(g.id == conv for g in n.groups()) for n in (bob, dana)))
    await dana.connect("127.0.0.1", bob.port)

    def everyone_has(n: int) -> bool:
        return all(len(x.db.messages(conv)) >= n for x in (alice, bob, dana))

    await alice.files.send_in(conv, "The board from last week 🏔", [_photo(root / "hills.jpg")])
    await _until(partial(everyone_has, 1))
    photo = alice.db.messages(conv)[-1]
    await bob.actions.reply(conv, photo.event_id.hex(), "That was a great game!")
    await _until(partial(everyone_has, 2))
    await dana.actions.react(conv, photo.event_id.hex(), "❤️")
    await bob.actions.react(conv, photo.event_id.hex(), "👍")
    dana.queue_in(conv, "Next time at mine? I'll make pizza 🍕")
    await _until(partial(everyone_has, 3))
    await _until(lambda: len(alice.db.reactions([photo.event_id]).get(photo.event_id, [])) == 2)
    return conv


def _both_have(alice: Node, bob: Node, n: int) -> bool:
    return len(alice.history("Bob Okafor")) == n and len(bob.history("Alice Martin")) == n


async def _settle() -> None:
    """Let Qt lay out and paint: the qasync loop runs Qt's events while it waits (a
    nested processEvents() would run asyncio callbacks inside the running task)."""
    for _ in range(5):
        await asyncio.sleep(0.05)


def _save(widget: QWidget, path: Path) -> None:
    widget.grab().save(str(path))
    print(path)


async def render(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        alice, bob = _node(root, "Alice Martin"), _node(root, "Bob Okafor")
        carol = _node(root, "Maximilian Alexander Konstantin von Hohenzollern-Sigmaringen III")
        dana = _node(root, "Dana Whitfield")
        kith_a, kith_b = KithApp(alice), KithApp(bob)
        wa = await kith_a.start()
        await kith_b.start(show=False)
        await carol.start(discover=False)
        await dana.start(discover=False)
        try:
            for variant in ("light", "dark"):
                theme.apply_theme(variant)
                first = FirstStartDialog()
                first.name.setText("Alice Martin")
                first.show()
                await _settle()
                _save(first, out / f"first-start-{variant}.png")
                first.close()
            theme.apply_theme("light")
            wa.resize(980, 640)
            await _settle()
            for variant in ("light", "dark"):
                theme.apply_theme(variant)
                await _settle()
                _save(wa, out / f"empty-window-{variant}.png")
            # a conversation
            await alice.connect("127.0.0.1", bob.port)
            await alice.add_contact("Bob Okafor")
            await _until(lambda: any(c.state == "pending_in" for c in bob.contacts()))
            await bob.accept_contact("Alice Martin")
            await _until(lambda: any(c.state == "accepted" for c in alice.contacts()))
            lines = [
                (bob, "Alice Martin", "Hi Alice! Are you coming to the board games night?"),
                (alice, "Bob Okafor", "Yes! What time does it start?"),
                (bob, "Alice Martin", "Seven. The rules are at https://example.org/rules"),
                (bob, "Alice Martin", "Bring snacks!"),
                (alice, "Bob Okafor", "Perfect, I'll bring crisps."),
                (alice, "Bob Okafor", "And the new expansion: it came in the post today, "
                                      "it has a whole new map and twice as many cards."),
                (bob, "Alice Martin", "🎉🎉"),
                (bob, "Alice Martin", "Finally! I have been waiting for it for months 😀"),
            ]
            for n, (node, peer, text) in enumerate(lines, 1):
                await node.send_message(peer, text)
                # one at a time, so that both sides order them as written
                await _until(partial(_both_have, alice, bob, n))
            last_out = max(i for i, (node, _, _) in enumerate(lines) if node is alice)
            wa.open_chat(bob.user_id)
            await _until(lambda: wa.messages.rowCount() == len(lines))
            await _until(lambda: str(wa.messages.index(last_out).data(
                MsgRole.StatusText) or "") == "Delivered")
            await bob.mark_read(alice.user_id)
            await alice.mark_read(bob.user_id)  # offscreen the window is never "active"
            await _until(lambda: str(wa.messages.index(last_out).data(
                MsgRole.StatusText) or "").startswith("Read"))
            # a contact request from someone with a very long name
            await carol.connect("127.0.0.1", alice.port)
            await carol.add_contact("Alice Martin")
            await _until(lambda: len(wa.sidebar.request_rows) == 1)
            bob.set_typing(alice.user_id, True)
            await _until(wa.chat.typing.isVisible)
            for variant in ("light", "dark"):
                theme.apply_theme(variant)
                wa.chat.view.bubbles.clear_cache()
                wa.chat.view.viewport().update()
                await _settle()
                _save(wa, out / f"conversation-{variant}.png")
                info = wa.show_contact_info()
                assert info is not None
                await _settle()
                _save(info, out / f"contact-info-{variant}.png")
                info.close()
                settings = wa.open_settings()
                await _settle()
                _save(settings, out / f"settings-{variant}.png")
                settings.reject()
            # a group chat: a photo, a reply, reactions, someone who is not a contact
            bob.set_typing(alice.user_id, False)
            conv = await _group_scene(alice, bob, dana, root)
            wa.open_chat(conv)
            await _until(lambda: wa.messages.rowCount() >= 3)
            await alice.mark_read_in(conv)  # offscreen the window is never "active"
            await _settle()
            for variant in ("light", "dark"):
                theme.apply_theme(variant)
                wa.chat.view.bubbles.clear_cache()
                wa.chat.view.viewport().update()
                await _settle()
                _save(wa, out / f"group-{variant}.png")
            # a narrow window: the sidebar is a column of avatars
            theme.apply_theme("light")
            wa.resize(640, 640)
            await _settle()
            _save(wa, out / "narrow-light.png")
        finally:
            await dana.stop()
            await carol.stop()
            await kith_b.stop()
            await kith_a.stop()


def main() -> int:
    import qasync

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "resources/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv)
    # (windows come and go between shots, a viewer among them: the script ends itself)
    QApplication.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(render(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
