"""The commands of files (issue 11): ``send --file``, ``files``, ``fetch``, ``transfers``,
``pause``, ``resume``, ``cancel``. Registered with :mod:`p2p.commands` (which imports this
module last), so the control socket and the one-shot CLI run the same functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kith.p2p.commands import FLAG, NUMBER, TEXT, NotFound, TimedOut, command
from kith.p2p.errors import UserError
from kith.p2p.node import Node, message_json
from kith.storage import STATUS_DELIVERED, MessageRow

del FLAG


def files_of(node: Node, m: MessageRow) -> list[dict[str, Any]]:
    """What ``history --json`` lists under a message's ``files``."""
    return node.files.for_message(m.conv, m.author, m.seq)


async def send(node: Node, args: dict[str, Any]) -> dict[str, Any]:
    """``kith send CHAT [TEXT] --file PATH...``; with ``wait``: until the message is
    delivered and every file is complete on a device of each recipient."""
    paths = args.get("files") or []
    if not all(isinstance(p, str) and p for p in paths):
        raise UserError("--file takes a path")
    chat = node.resolve_chat(args["peer"])  # a contact or a group
    e = await node.files.send_in(chat.conv, str(args.get("text") or ""),
                                 [Path(p) for p in paths])
    if chat.user is not None:
        recipients = [chat.user]
    else:
        g = node.core.groups.get(chat.conv)
        recipients = sorted(u for u in (g.state.members if g else ()) if u != node.user_id)
    await node.flush()
    wait = args.get("wait")
    if wait is None:
        wait = args.get("linger")
    row = node.core.messages.row_of(e)  # (waiting for its log's head: seq 0)
    if row is not None and not row.seq and wait:
        await node.wait_status(row, STATUS_DELIVERED, float(wait))
        row = node.core.messages.current(row)
    if row is None:
        raise UserError("the message could not be stored")
    if not row.seq:  # kept, and sent once a holder of the log is back (p2p.restore)
        kind = node.core.kinds.get(e.event.kind)
        out = message_json(row, node.user_id, node.names())
        out["files"] = (node.files.for_waiting(e, kind.decode(e.body))
                        if kind is not None and e.body else [])
        out["delivered"] = out["files_received"] = False
        return out
    ids = [a.file for a in node.db.message_attachments(row.conv, row.author, row.seq)]
    held = False
    if wait:
        loop_wait = float(wait)
        if await node.wait_status(row, STATUS_DELIVERED, loop_wait):
            held = await node.files.wait_held_by(ids, recipients, loop_wait)
    else:
        held = all(all(u in node.files.complete_at.get(f, set()) for u in recipients)
                   for f in ids)
    row = node.db.message_at(row.conv, row.author, row.seq) or row
    await node.files.prepare_views(ids)
    out = message_json(row, node.user_id, node.names())
    out["files"] = files_of(node, row)
    out["delivered"] = row.status >= STATUS_DELIVERED and (held or args.get("wait") is None)
    out["files_received"] = held
    return out


@command("files", peer=(TEXT, True))
async def _files(node: Node, args: dict[str, Any]) -> Any:
    """The files of a chat, oldest first."""
    user, _ = node.resolve(args["peer"])
    conv = node.conv_with(user)
    # (a script gets a path that exists for every complete file: the plain copies of
    # sealed ones are made on a thread first)
    await node.files.prepare_views(r.file for r in node.db.attachments(conv))
    return node.files.list_files(conv)


def _file(node: Node, query: str) -> bytes:
    try:
        return node.files.resolve(query).id
    except UserError as e:
        raise NotFound(str(e)) from e


async def _one(node: Node, file: bytes) -> dict[str, Any]:
    rows = node.db.attachments_of(file)
    if not rows:
        raise NotFound(f"no file {file.hex()[:12]}")
    await node.files.prepare_views([file])
    return node.files.file_json(rows[0])


@command("fetch", file=(TEXT, True), wait=NUMBER)
async def _fetch(node: Node, args: dict[str, Any]) -> Any:
    """Download now, whatever the auto-download limit; with ``wait``: until complete."""
    file = _file(node, args["file"])
    node.files.start(file)
    wait = args.get("wait")
    if wait and not await node.files.wait_complete(file, float(wait)):
        f = await _one(node, file)
        raise TimedOut(
            f"{f['name']} is not complete after {float(wait):g} s ({f['have']} of "
            f"{f['size']} bytes){': ' + f['problem'] if f.get('problem') else ''}; it "
            "carries on while Kith runs"
        )
    return await _one(node, file)


@command("transfers")
async def _transfers(node: Node, args: dict[str, Any]) -> Any:
    return node.files.transfer_list()


@command("pause", file=(TEXT, True))
async def _pause(node: Node, args: dict[str, Any]) -> Any:
    """Pause a download; or stop serving a file I sent (other holders still may)."""
    file = _file(node, args["file"])
    node.files.pause(file)
    return await _one(node, file)


@command("resume", file=(TEXT, True))
async def _resume(node: Node, args: dict[str, Any]) -> Any:
    file = _file(node, args["file"])
    node.files.resume(file)  # (a download, or the sending of a file I sent)
    return await _one(node, file)


@command("cancel", file=(TEXT, True))
async def _cancel(node: Node, args: dict[str, Any]) -> Any:
    file = _file(node, args["file"])
    node.files.cancel(file)
    return await _one(node, file)
