"""The command line of the message actions: parsers and text output for ``kith reply``,
``react``, ``edit``, ``unsend``, ``delete-for-me``, ``share-contact``, ``card-request``
``disappear`` and ``delete-chat`` (the commands themselves: p2p/commands_actions.py)."""

from __future__ import annotations

import argparse
from typing import Any

from kith.app import cli_output as out

NAMES = ("reply", "react", "edit", "unsend", "delete-for-me", "share-contact",
         "card-request", "disappear", "delete-chat")
#: The ones a one-shot node lingers after, to deliver what they wrote (as for ``send``).
SENDING = ("reply", "react", "edit", "unsend", "share-contact", "disappear")
#: What request_args takes from the parsed arguments.
ARGS = ("chat", "message_id", "emoji", "remove", "contact", "duration", "leave")

_CHAT = "the conversation: a contact's name, user id, or a unique prefix of either"
_ID = "the message's id from `kith history --json` (or a unique prefix of it)"


def add_parsers(sub: Any) -> None:
    def command(name: str, text: str, chat: str = _CHAT) -> argparse.ArgumentParser:
        s: argparse.ArgumentParser = sub.add_parser(
            name, help=text, description=text[:1].upper() + text[1:] + "."
        )
        s.add_argument("--json", action="store_true", help="print JSON")
        s.add_argument("chat", metavar="CHAT", help=chat)
        return s

    s = command("reply", "reply to a message (the reply shows a quote of it)")
    s.add_argument("message_id", metavar="MESSAGE_ID", help=_ID)
    s.add_argument("text", metavar="TEXT")
    s = command("react", "react to a message with one emoji (again: --remove)")
    s.add_argument("message_id", metavar="MESSAGE_ID", help=_ID)
    s.add_argument("emoji", metavar="EMOJI", help="one emoji (a heart, a thumbs up...)")
    s.add_argument("--remove", action="store_true", help="take your reaction back")
    s = command("edit", "change the text of your message (24 hours, 10 times)")
    s.add_argument("message_id", metavar="MESSAGE_ID", help=_ID)
    s.add_argument("text", metavar="TEXT")
    s = command("unsend", "take your message back for everyone (within 24 hours)")
    s.add_argument("message_id", metavar="MESSAGE_ID", help=_ID)
    s = command("delete-for-me", "delete a message on your devices only")
    s.add_argument("message_id", metavar="MESSAGE_ID", help=_ID)
    s = command("share-contact", "send one of your contacts as a card")
    s.add_argument("contact", metavar="CONTACT", help="the contact to share")
    s = command("card-request", "send a contact request to the person on a card")
    s.add_argument("message_id", metavar="MESSAGE_ID", help="the card's message id")
    s.add_argument("--trust-new-key", action="store_true",
                   help="go ahead although the card has a known contact's name with another key")
    s = command("disappear", "make new messages disappear after a time (off: never)")
    s.add_argument("duration", metavar="off|DURATION", help="off, or like 30s, 5m, 1h, 1d, 1w")
    s = command("delete-chat", "delete a whole chat on all of your devices (not for the "
                "others in it; a new message brings it back)",
                chat="a contact or a group: a name, an id, or a unique prefix of either")
    s.add_argument("--leave", action="store_true",
                   help="a group: leave it as well (else you stay a member)")


def say_result(name: str, result: dict[str, Any]) -> None:
    if name == "delete-chat":
        n = result["deleted"]
        left = " (you left the group)" if result.get("left") else ""
        out.say(f"deleted the chat with {out.clean(result['name'])} on all your devices: "
                f"{n} message{'' if n == 1 else 's'}{left}")
    elif name == "delete-for-me":
        out.say(f"deleted for you: {result['id'][:12]}")
    elif name == "card-request":
        by = out.clean(result.get("introduced_by") or "a card")
        out.say(f"{out.clean(result['name'])}: {result['state']} (introduced by {by}, "
                "not verified)")
    elif name == "disappear":
        who = "you" if result["set_by"] == "me" else out.clean(result["set_by"])
        out.say(f"disappearing messages: {result['timer_text']} (set by {who})")
    elif name == "unsend":
        out.say(f"unsent: {result['id'][:12]}")
    elif name == "react":
        out.say(f"reactions on {result['id'][:12]}: "
                + (" ".join(out.clean(r["emoji"]) for r in result["reactions"]) or "none"))
    elif name == "edit":
        out.say(f"edited ({result['edited']}): {result['id'][:12]}")
    else:  # reply, share-contact
        out.say(f"{result['status']}: {result['id'][:12]}")


def decorate(m: dict[str, Any]) -> str:
    """The text of a history line with what the actions add (markers after it)."""
    if m.get("unsent"):
        return "(unsent)" if m.get("outgoing") else "(this message was unsent)"
    text = out.clean(m["text"])
    card = m.get("card")
    if card:
        text = f"[contact card: {out.clean(card['name'])} {card['user_id'][:12]}" + (
            " \u2013 WARNING: a contact of that name has another key]"
            if card.get("key_changed") else "]")
    if m.get("reply_to"):
        text = f"(reply to {m['reply_to'][:12]}) {text}"
    if m.get("edited"):
        text += "  (edited)"
    reactions = m.get("reactions") or []
    if reactions:
        text += "  " + " ".join(out.clean(r["emoji"]) for r in reactions)
    if m.get("expires_at"):
        text += "  \u23f1"
    return text
