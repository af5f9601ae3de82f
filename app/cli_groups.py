"""``kith group ...`` and ``kith groups``: the parsers and what they print."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from kith.app import cli_output as out

ACTIONS = ("create", "add", "remove", "leave", "rename", "admin", "history-for-new-members",
           "mute")


def add_parsers(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``group`` (with its actions) and ``groups`` to the parser (``command`` is the
    CLI's helper that adds one subcommand)."""
    command("groups", "the groups you are in (or were)", json=True)
    s = command("group", "create a group, add or remove people, leave, rename")
    sub = s.add_subparsers(dest="group_command", metavar="ACTION", required=True)

    def action(name: str, text: str) -> argparse.ArgumentParser:
        a = sub.add_parser(name, help=text, description=text[:1].upper() + text[1:] + ".")
        a.add_argument("--json", action="store_true", help="print JSON")
        return a

    def group(a: argparse.ArgumentParser) -> None:
        a.add_argument("group", metavar="GROUP", help="its name, id, or a unique prefix")

    a = action("create", "create a group with some of your contacts")
    a.add_argument("group_name", metavar="NAME")
    a.add_argument("members", metavar="MEMBER", nargs="+", help="accepted contacts")
    for name, text in (("add", "add contacts of yours (owner or admin)"),
                       ("remove", "remove members (owner or admin)")):
        a = action(name, text)
        group(a)
        a.add_argument("members", metavar="MEMBER", nargs="+")
    group(action("leave", "leave a group"))
    a = action("rename", "rename a group (owner or admin)")
    group(a)
    a.add_argument("group_name", metavar="NAME")
    a = action("admin", "make a member an admin (owner only)")
    group(a)
    a.add_argument("member", metavar="MEMBER")
    a.add_argument("--revoke", action="store_true", help="make them a member again")
    a = action("history-for-new-members", "whether people added later see the history")
    group(a)
    a.add_argument("on", metavar="on|off", choices=["on", "off"])
    a = action("mute", "no notifications from a group (on) or again (off)")
    group(a)
    a.add_argument("on", metavar="on|off", choices=["on", "off"])


def command_name(args: argparse.Namespace) -> str:
    action = args.group_command
    return "group-history" if action == "history-for-new-members" else f"group-{action}"


def group_line(g: dict[str, Any]) -> str:
    role = "left" if g["left"] else g["role"]
    members = ", ".join(out.clean(m["name"]) for m in g["members"])
    return f"{out.clean(g['name'])}  ({g['id'][:12]}, {role})  {members}"


def output(name: str, result: Any, as_json: bool) -> int:
    if name == "groups":
        out.listing(result, as_json,
                    "No groups yet. Create one with `kith group create NAME MEMBER...`.",
                    group_line)
    elif as_json:
        out.say_json(result)
    else:
        out.say(group_line(result))
    return out.EXIT_OK
