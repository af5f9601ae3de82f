"""The group commands (``kith group ...``, ``kith groups``) and what ``history`` and
``listen`` show of a chat that may be a group: per-member receipts, system lines."""

from __future__ import annotations

from typing import Any

from kith.p2p.commands import FLAG, TEXT, BadArguments, command
from kith.p2p.kinds import GROUP
from kith.p2p.membership import is_group_id
from kith.p2p.messages import MessageBody
from kith.p2p.node import Node, message_json
from kith.storage import MessageRow
from kith.storage.groups import GroupLineRow

LIST = (list,)


def _names(args: dict[str, Any], key: str = "members") -> list[str]:
    value = args.get(key) or []
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise BadArguments(f"say who: one or more names in {key!r}")
    return [str(v) for v in value]


def _on_off(text: str) -> bool:
    low = text.strip().lower()
    if low in ("on", "true", "yes", "1"):
        return True
    if low in ("off", "false", "no", "0"):
        return False
    raise BadArguments(f"{text!r} is not on or off")


@command("groups")
async def _groups(node: Node, args: dict[str, Any]) -> Any:
    return [g.to_json() for g in node.groups()]


@command("group-create", group_name=(TEXT, True), members=(LIST, True))
async def _create(node: Node, args: dict[str, Any]) -> Any:
    return (await node.create_group(args["group_name"], _names(args))).to_json()


@command("group-add", group=(TEXT, True), members=(LIST, True))
async def _add(node: Node, args: dict[str, Any]) -> Any:
    return (await node.core.groups.add(args["group"], _names(args))).to_json()


@command("group-remove", group=(TEXT, True), members=(LIST, True))
async def _remove(node: Node, args: dict[str, Any]) -> Any:
    return (await node.core.groups.remove(args["group"], _names(args))).to_json()


@command("group-leave", group=(TEXT, True))
async def _leave(node: Node, args: dict[str, Any]) -> Any:
    return (await node.core.groups.leave(args["group"])).to_json()


@command("group-rename", group=(TEXT, True), group_name=(TEXT, True))
async def _rename(node: Node, args: dict[str, Any]) -> Any:
    return (await node.core.groups.rename(args["group"], args["group_name"])).to_json()


@command("group-admin", group=(TEXT, True), member=(TEXT, True), revoke=FLAG)
async def _admin(node: Node, args: dict[str, Any]) -> Any:
    info = await node.core.groups.set_role(args["group"], args["member"],
                                          not args.get("revoke"))
    return info.to_json()


@command("group-history", group=(TEXT, True), on=(TEXT, True))
async def _history_setting(node: Node, args: dict[str, Any]) -> Any:
    return (await node.core.groups.set_history(args["group"], _on_off(args["on"]))).to_json()


@command("group-mute", group=(TEXT, True), on=(TEXT, True))
async def _mute(node: Node, args: dict[str, Any]) -> Any:
    return node.core.groups.set_muted(args["group"], _on_off(args["on"])).to_json()


# -- chats that may be groups ------------------------------------------------------------


def message_out(node: Node, m: MessageRow, names: dict[bytes, str]) -> dict[str, Any]:
    """A message as ``history``/``listen``/``send`` print it; in a group, the sender's
    name as the group knows it and (mine) the receipts per member."""
    out = message_json(m, node.user_id, names)
    if not is_group_id(m.conv):
        return out
    groups = node.core.groups
    g = groups.get(m.conv)
    if g is not None:
        if m.sender != node.user_id:
            out["from"] = groups.name_of(m.sender, g)
        if m.outgoing:
            out["receipts"] = [  # (former: removed or left since; still listed)
                {"user_id": r.user_id.hex(), "name": groups.name_of(r.user_id, g),
                 "status": r.status, "former": r.former}
                for r in groups.receipts(m.conv, m.author, m.seq)
            ]
    return out


def line_out(node: Node, line: GroupLineRow) -> dict[str, Any]:
    groups = node.core.groups
    g = groups.groups.get(line.conv)
    return {
        "kind": line.kind,
        "text": groups.line_text(line, g),
        "conv": line.conv.hex(),
        "from": "me" if line.actor == node.user_id else groups.name_of(line.actor, g),
        "from_user": line.actor.hex(),
        "targets": [t.hex() for t in line.targets],
        "value": line.value,
        "time": line.time / 1000,
    }


def _files(node: Node, m: MessageRow) -> list[dict[str, Any]]:
    if m.seq:
        return node.files.for_message(m.conv, m.author, m.seq)
    for e, body in node.core.log.held_events(m.conv):  # (waiting: p2p.restore)
        if e.id == m.event_id and isinstance(body, MessageBody):
            return node.files.for_waiting(e, body)
    return []


def history(node: Node, query: str, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` messages of a CHAT, oldest first; a group's system lines
    among them, in the same order."""
    chat = node.resolve_chat(query)
    stored = node.db.messages(chat.conv, limit=limit)
    # (ours that wait for the log's true head, p2p.restore: newest, status "waiting")
    rows = stored + node.core.messages.waiting_rows(chat.conv)
    names = node.names()
    details = node.actions.details(rows)  # replies, reactions, edits, tombstones, cards
    items: list[tuple[tuple[int, bytes], dict[str, Any]]] = [
        ((m.lamport, m.author), {**message_out(node, m, names),
                                 "files": _files(node, m), **details[m.event_id]})
        for m in rows
    ]
    if chat.type == GROUP:
        start = (stored[0].lamport, stored[0].author) if len(stored) >= limit else (-1, b"")
        start = max(start, (node.db.chat_cut(chat.conv) + 1, b""))  # (delete chat)
        items += [
            ((x.lamport, x.author), line_out(node, x)) for x in node.db.group_lines(chat.conv)
            if (x.lamport, x.author) >= start
        ]
        items.sort(key=lambda kv: kv[0])
    return [item for _, item in items]
