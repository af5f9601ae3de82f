"""The commands of the message actions (``kith reply|react|edit|unsend|delete-for-me|
share-contact|disappear``, and ``card-request``), registered with :mod:`p2p.commands`.

CHAT is a contact for now (PEER's resolution); MESSAGE_ID is an ``id`` from ``history
--json`` or a unique prefix of one. A refusal (not your message, too late, too many
edits, an unknown id) is a UserError: exit status 1 with its message.
"""

from __future__ import annotations

from typing import Any

from kith.p2p.actions.disappearing import describe, parse_duration
from kith.p2p.commands import FLAG, NUMBER, TEXT, command
from kith.p2p.errors import UserError
from kith.p2p.kinds import GROUP
from kith.p2p.node import Node, message_json
from kith.storage import STATUS_DELIVERED, MessageRow


def _conv(node: Node, chat: str) -> bytes:
    user, _ = node.resolve(chat)
    return node.core.convs.ensure_direct(user)


def _target(node: Node, args: dict[str, Any]) -> tuple[bytes, str]:
    """CHAT's conversation and MESSAGE_ID, as the actions on a message take them."""
    return _conv(node, args["chat"]), args["message_id"]


def rows_json(node: Node, rows: list[MessageRow]) -> list[dict[str, Any]]:
    """``history --json``: each message with its reply, reactions, edits, tombstone,
    expiry and card."""
    names = node.names()
    details = node.actions.details(rows)
    out = []
    for m in rows:
        item = message_json(m, node.user_id, names)
        item.update(details[m.event_id])
        out.append(item)
    return out


async def _answer(node: Node, row: MessageRow, args: dict[str, Any]) -> dict[str, Any]:
    """What an action on a message answers: the message as it is now (as ``history
    --json`` shows it), once delivered if ``--linger`` asks to wait for that."""
    linger = args.get("linger")  # a one-shot node gives delivery a moment
    if linger:
        await node.wait_status(row, STATUS_DELIVERED, float(linger))
    fresh = node.db.message_by_id(row.event_id, row.conv) or row
    return rows_json(node, [fresh])[0]


@command("reply", chat=(TEXT, True), message_id=(TEXT, True), text=(TEXT, True),
         linger=NUMBER)
async def _reply(node: Node, args: dict[str, Any]) -> Any:
    row = await node.actions.reply(*_target(node, args), args["text"])
    return await _answer(node, row, args)


@command("react", chat=(TEXT, True), message_id=(TEXT, True), emoji=(TEXT, True),
         remove=FLAG, linger=NUMBER)
async def _react(node: Node, args: dict[str, Any]) -> Any:
    row = await node.actions.react(*_target(node, args), args["emoji"],
                                   remove=bool(args.get("remove")))
    return await _answer(node, row, args)


@command("edit", chat=(TEXT, True), message_id=(TEXT, True), text=(TEXT, True),
         linger=NUMBER)
async def _edit(node: Node, args: dict[str, Any]) -> Any:
    row = await node.actions.edit(*_target(node, args), args["text"])
    return await _answer(node, row, args)


@command("unsend", chat=(TEXT, True), message_id=(TEXT, True), linger=NUMBER)
async def _unsend(node: Node, args: dict[str, Any]) -> Any:
    row = await node.actions.unsend(*_target(node, args))
    return await _answer(node, row, args)


@command("delete-for-me", chat=(TEXT, True), message_id=(TEXT, True))
async def _delete_for_me(node: Node, args: dict[str, Any]) -> Any:
    row = await node.actions.delete_for_me(*_target(node, args))
    return {"id": row.event_id.hex(), "deleted": True}


@command("delete-chat", chat=(TEXT, True), leave=FLAG)
async def _delete_chat(node: Node, args: dict[str, Any]) -> Any:
    chat = node.resolve_chat(args["chat"])
    left = False
    if args.get("leave"):
        if chat.type != GROUP:
            raise UserError("--leave is for a group: this chat is with a contact")
        g = node.core.groups.get(chat.conv)
        if g is not None and node.user_id in g.state.members:
            await node.core.groups.leave(chat.conv.hex())
            left = True
    deleted = await node.actions.delete_chat(chat.conv)
    return {"chat": chat.conv.hex(), "name": chat.name, "type": chat.type,
            "deleted": deleted, "left": left}


@command("share-contact", chat=(TEXT, True), contact=(TEXT, True), linger=NUMBER)
async def _share_contact(node: Node, args: dict[str, Any]) -> Any:
    contact, _ = node.resolve(args["contact"])
    row = await node.actions.share_contact(_conv(node, args["chat"]), contact)
    return await _answer(node, row, args)


@command("card-request", chat=(TEXT, True), message_id=(TEXT, True), trust_new_key=FLAG)
async def _card_request(node: Node, args: dict[str, Any]) -> Any:
    info = await node.actions.request_from_card(
        *_target(node, args), trust_new_key=bool(args.get("trust_new_key")))
    out = info.to_json()
    by = node.actions.introduced_by(info.user_id)
    out["introduced_by"] = None if by is None else node.names().get(by, by.hex()[:12])
    return out


@command("disappear", chat=(TEXT, True), duration=(TEXT, True), linger=NUMBER)
async def _disappear(node: Node, args: dict[str, Any]) -> Any:
    seconds = parse_duration(args["duration"])
    conv = _conv(node, args["chat"])
    t = await node.actions.set_timer(conv, seconds)
    if args.get("linger"):
        await node.flush()
    return timer_json(node, conv, t.timer, t.by_user, t.time)


def timer_json(node: Node, conv: bytes, seconds: int, by: bytes, time_ms: int) -> dict[str, Any]:
    names = node.names()
    return {
        "timer": seconds, "timer_text": describe(seconds),
        "set_by": "me" if by == node.user_id else names.get(by, by.hex()[:12]),
        "time": time_ms / 1000,
    }

