"""What the ``kith`` command line prints, and how it ends.

Every line goes through :func:`say` (stdout) or :func:`warn` (stderr), which pass it
through :func:`clean`: names and message texts come from other people, and a control
character (an ANSI escape, a carriage return, a bidi override) must never reach the
terminal raw. ``--json`` output is JSON with ``ensure_ascii``: every such character is a
``\\uXXXX`` escape there. Colour only on a terminal and never with ``NO_COLOR`` set.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import unicodedata
from collections.abc import Callable
from typing import Any, TextIO

# Exit statuses (README, "Exit status"); the error codes of the control socket map to
# them through p2p.commands.ERROR_CODES.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_NOT_ALLOWED = 4
EXIT_TIMED_OUT = 5
EXIT_BUSY = 6
EXIT_INTERRUPTED = 130

# Format characters that can reorder or hide text (Unicode category Cf: bidi marks,
# overrides and isolates, zero-width characters) are shown as escapes too.
_SHOW_AS_IS = {"\t"}


def clean(text: object, *, newlines: str = "\n    ") -> str:
    """``text`` safe for a terminal: control and format characters become visible escapes
    (``\\x1b``, ``\\u202e``); a newline becomes ``newlines`` (by default a new line
    indented, so that a text cannot forge a line of its own)."""
    s = str(text)
    if s.isprintable() and not any(unicodedata.category(c) == "Cf" for c in s):
        return s
    out = []
    for c in s:
        if c == "\n":
            out.append(newlines)
        elif c in _SHOW_AS_IS:
            out.append(" ")
        elif not c.isprintable() and c != " " or unicodedata.category(c) == "Cf":
            o = ord(c)
            out.append(f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}" if o < 0x10000
                       else f"\\U{o:08x}")
        else:
            out.append(c)
    return "".join(out)


def colour_on(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set (no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def bold_red(text: str, stream: TextIO | None = None) -> str:
    stream = stream or sys.stdout
    return f"\x1b[1;31m{text}\x1b[0m" if colour_on(stream) else text


def say(line: object = "") -> None:
    """One line (or several) to stdout, cleaned."""
    print(clean(line, newlines="\n"), flush=True)


def say_json(obj: Any) -> None:
    print(json.dumps(obj), flush=True)


def warn(message: object) -> None:
    """``kith: MESSAGE`` on stderr, cleaned."""
    print(f"{bold_red('kith:', sys.stderr)} {clean(message)}", file=sys.stderr, flush=True)


def note(message: str) -> None:
    """``kith: MESSAGE`` on stderr, uncoloured: what the command is doing (it is ready)."""
    print(f"kith: {clean(message)}", file=sys.stderr, flush=True)


def hint(message: str) -> None:
    """A note for a person at a terminal (stderr; left out when stderr is not a terminal,
    so that scripts see only what they asked for)."""
    if sys.stderr.isatty():
        print(f"kith: {clean(message)}", file=sys.stderr, flush=True)


# -- listings ----------------------------------------------------------------------------


def listing(
    rows: list[dict[str, Any]], as_json: bool, empty: str, line: Callable[[dict[str, Any]], str]
) -> None:
    """A JSON array with --json, else one line a row (``empty`` when there is none)."""
    if as_json:
        say_json(rows)
    elif not rows:
        say(empty)
    else:
        for row in rows:
            say(line(row))


def _name(value: object, width: int = 0) -> str:
    """A name from someone else, one line, control characters escaped, padded."""
    text = clean(value if value else "?", newlines=" ")
    return f"{text:{width}}" if width else text


def peer_line(p: dict[str, Any]) -> str:
    tag = " " + bold_red("[KEY CHANGED: not the contact you know]") if p["key_changed"] else ""
    contact = f" ({_name(p['contact'])})" if p["contact"] else ""
    uid = (p["user_id"] or "?")[:12]
    n = len(p.get("devices") or ())
    devices = f" [{n} devices]" if n > 1 else ""
    problem = f" -- {clean(p['problem'], newlines=' ')}" if p.get("problem") else ""
    return (f"{_name(p['name'], 20)} {uid}  {', '.join(p['addresses'])}{contact}{devices}{tag}"
            f"{problem}")


def contact_line(c: dict[str, Any]) -> str:
    flags = " verified" if c["verified"] else ""
    flags += " " + bold_red("KEY CHANGED") if c["key_changed"] else ""
    if c.get("replaced_by"):
        flags += f" old key (now {c['replaced_by'][:12]})"
    if c.get("own_name"):
        flags += f" (calls themselves {_name(c['own_name'])})"
    return f"{_name(c['name'], 20)} {c['user_id'][:12]}  {c['state']}{flags}"


def handoff_line(o: dict[str, Any]) -> str:
    draft = f": {clean(repr(o['draft']))}" if o["draft"] else ""
    return f"Continue the chat with {_name(o['peer'])} (from {_name(o['device'])}){draft}"


def device_line(d: dict[str, Any]) -> str:
    flags = " (this device)" if d["this_device"] else ""
    flags += " REMOVED" if d["removed"] else ""
    return f"{_name(d['name'], 20)} {d['device_id'][:12]}{flags}"


def config_line(c: dict[str, Any]) -> str:
    return f"{c['key']:18} {config_text(c['value'])}"


def config_text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) if value else "all"
    return clean(value, newlines=" ")


def print_whoami(info: dict[str, Any], as_json: bool) -> None:
    if as_json:
        say_json(info)
        return
    say(f"name:        {_name(info['name'])}")
    say(f"user id:     {info['user_id']}")
    say(f"device id:   {info['device_id']}")
    say(f"fingerprint: {info['fingerprint']}")


def print_message(m: dict[str, Any], as_json: bool) -> None:
    if as_json:
        say_json(m)
        return
    when = datetime.datetime.fromtimestamp(m["time"]).strftime("%Y-%m-%d %H:%M")
    if "kind" in m:  # a group's system line
        print(f"{when}  -- {clean(m['text'])}", flush=True)
        return
    status = f"  [{m['status']}]" if m.get("outgoing") else ""
    # (with what replies, edits, reactions, cards... add: app/cli_actions.py)
    print(f"{when}  {_name(m['from'])}: {_actions().decorate(m)}{status}", flush=True)


def _actions() -> Any:
    from kith.app import cli_actions  # (it uses this module)

    return cli_actions


def output(name: str, result: Any, as_json: bool, wait: float | None = None) -> int:
    """Print a command's result; the exit status."""
    from kith.app import cli_files

    if name in cli_files.COMMANDS:
        cli_files.output(name, result, as_json)
        return EXIT_OK
    if name == "groups" or name.startswith("group-"):
        from kith.app import cli_groups

        return cli_groups.output(name, result, as_json)
    if name == "whoami":
        print_whoami(result, as_json)
    elif name == "peers":
        listing(result, as_json, "Nobody found on the network yet.", peer_line)
    elif name == "contacts":
        listing(result, as_json,
                "No contacts yet. Find people with `kith peers`, then `kith add NAME`.",
                contact_line)
    elif name == "history":
        if as_json:
            say_json(result)
        else:
            for m in result:
                print_message(m, False)
    elif name == "handoff":
        listing(result, as_json, "No chat is open on your other devices.", handoff_line)
    elif name == "devices":
        listing(result, as_json, "No devices.", device_line)
    elif name == "config-list":
        listing(result, as_json, "No settings.", config_line)
    elif as_json:
        say_json(result)
    elif name in _actions().NAMES:
        _actions().say_result(name, result)
    else:
        _say_result(name, result)
    if name == "send" and wait is not None and not result["delivered"]:
        warn(f"not delivered within {wait:g} s; the message stays queued and goes out "
             "when the contact is reachable")
        return EXIT_TIMED_OUT
    return EXIT_OK


def _say_result(name: str, result: Any) -> None:
    if name == "send":
        say(f"{result['status']}: {result['id'][:12]}")
        if result["status"] == "waiting":
            hint("waiting to learn where this device's history ends: it is kept and sent "
                 "when one of your devices or the contact is back (`kith history` shows it)")
    elif name == "safety-number":
        groups = result["groups"]
        say(f"Safety number with {_name(result['peer'])}:")
        for row in range(3):
            say("  " + " ".join(groups[row * 4 : row * 4 + 4]))
    elif name == "sas":
        say(" ".join(clean(e["emoji"]) for e in result["emoji"]))
        say(" ".join(clean(e["name"]) for e in result["emoji"]))
    elif name == "verify":
        say(f"{_name(result['peer'])} is now verified.")
    elif name == "read":
        say("marked read")
    elif name == "open":
        if result["peer"]:
            say(f"open: the chat with {_name(result['peer'])} (your other devices offer it)")
        else:
            say("no chat open")
    elif name == "devices-add":
        say(f"linked {_name(result['name'])} ({result['device_id'][:12]})")
    elif name == "devices-remove":
        say(f"removed {_name(result['name'])} ({result['device_id'][:12]})")
    elif name == "connect":
        say(f"connected to {_name(result['name'])} ({(result['user_id'] or '?')[:12]})")
    elif name == "rename-contact":
        own = f" (calls themselves {_name(result['own_name'])})" if result["own_name"] else ""
        say(f"{result['user_id'][:12]} is {_name(result['name'])} here{own}")
    elif name in ("add", "accept", "decline"):
        say(f"{_name(result['name'])}: {result['state']}")
    elif name in ("config-get", "config-set"):
        say(config_text(result["value"]))
    else:
        say_json(result)
