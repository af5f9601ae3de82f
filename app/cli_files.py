"""The command line of files (issue 11): the parsers of ``files``, ``fetch``,
``transfers``, ``pause``, ``resume``, ``cancel`` and ``send --file``, and how their
results print."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kith.app import cli_output as out

COMMANDS = ("files", "fetch", "transfers", "pause", "resume", "cancel")
OFFLINE = {"files", "transfers", "pause", "resume", "cancel"}


def add_send_options(s: argparse.ArgumentParser) -> None:
    s.add_argument("--file", dest="files", action="append", default=None, metavar="PATH",
                   help="attach a file (repeatable; up to 4 GiB each)")


def add_parsers(
    command: Callable[..., argparse.ArgumentParser],
    peer: Callable[[argparse.ArgumentParser], None],
) -> None:
    peer(command("files", "the files of a chat", json=True))
    s = command("fetch", "download a file now (whatever its size)", json=True)
    _file_id(s)
    s.add_argument("--wait", type=float, default=None, metavar="SECONDS",
                   help="wait until it is complete; exit 5 if it is not in time")
    command("transfers", "running transfers", json=True)
    for name, text in (
        ("pause", "pause a download, or stop serving a file I sent"),
        ("resume", "resume a download, or serving a file I sent"),
        ("cancel", "cancel a download (what came is thrown away)"),
    ):
        _file_id(command(name, text, json=True))


def _file_id(s: argparse.ArgumentParser) -> None:
    s.add_argument("file", metavar="FILE_ID", help="a file's id or a unique prefix of it "
                   "(see `kith files CHAT`)")


def request_args(args: argparse.Namespace, request: dict[str, Any]) -> None:
    """Paths are made absolute here: a running node has another working directory."""
    files = getattr(args, "files", None)
    if files:
        request["files"] = [str(Path(p).expanduser().absolute()) for p in files]
    if getattr(args, "file", None) is not None and args.command in COMMANDS:
        request["file"] = args.file


def size_text(n: int) -> str:
    from kith.p2p.files.base import describe_size  # (the files feature: only to print)

    return describe_size(n, bytes_unit="B")


def file_line(f: dict[str, Any]) -> str:
    from kith.p2p.files.media import duration_text

    progress = ""
    if f["state"] != "complete" and f["have"]:
        progress = f" {size_text(f['have'])}/"
    where = f"  {f['path']}" if f.get("path") else ""
    problem = f" -- {out.clean(f['problem'], newlines=' ')}" if f.get("problem") else ""
    length = f" {duration_text(int(f['duration'] * 1000))}," if f.get("duration") else ""
    sending = ", sending paused" if f.get("sending") == "paused" else ""
    return (f"{f['id'][:12]}  {out.clean(f['name'], newlines=' ')}  ({out.clean(f['mime'])},"
            f"{length}{progress} {size_text(f['size'])})  {f['state']}{sending}{where}{problem}")


def transfer_line(t: dict[str, Any]) -> str:
    arrow = "<-" if t["direction"] == "in" else "->"
    rate = f" {size_text(int(t['rate']))}/s" if t.get("rate") else ""
    eta = f", {int(t['eta'])} s left" if t.get("eta") else ""
    peer = f" {arrow} {out.clean(t['peer'], newlines=' ')}" if t.get("peer") else ""
    problem = f" -- {out.clean(t['problem'], newlines=' ')}" if t.get("problem") else ""
    return (f"{t['id'][:12]}  {out.clean(t['name'], newlines=' ')}  {t['state']} "
            f"{size_text(t['have'])}/{size_text(t['size'])}{rate}{eta}{peer}{problem}")


def output(name: str, result: Any, as_json: bool) -> None:
    if as_json:
        out.say_json(result)
    elif name == "files":
        out.listing(result, False, "No files in this chat.", file_line)
    elif name == "transfers":
        out.listing(result, False, "No transfers.", transfer_line)
    else:
        out.say(file_line(result))
