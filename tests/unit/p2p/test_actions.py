"""p2p.actions, sans-IO: replies, reactions and edits through the kinds, rows and node
events out (unsend, delete for me, cards, disappearing: test_actions_gone.py)."""

from __future__ import annotations

import time

import pytest
from corekit import Author, Me, apply, me_fixture, other_device, peer, person, receive

from kith.p2p.actions import EditBody, ReactionBody
from kith.p2p.actions.reactions import REACTION, TAPBACKS, emoji_problem
from kith.p2p.api import ACCEPTED, MessagesAdded, MessagesChanged
from kith.p2p.errors import RemoteProtocolError, UserError
from kith.p2p.messages import MessageBody as Msg
from kith.storage.actions import MAX_EDITS, WINDOW_MS

__all__ = ["me_fixture"]

HOUR = 3600 * 1000


def contact(me: Me, name: str = "bob") -> tuple[Author, bytes]:
    who = person(name)
    me.knows(who)
    me.core.contacts.save(who.user, name=name, state=ACCEPTED)
    return who, me.core.convs.ensure_direct(who.user)


async def send(me: Me, conv: bytes, text: str, **kw: object) -> bytes:
    e = me.core.log.append(conv, Msg(text, **kw))  # type: ignore[arg-type]
    await me.core.log.commit()
    row = me.db.message_at(conv, e.event.author, e.event.seq)  # (the tip is signed: new id)
    assert row is not None
    return row.event_id


def text_of(me: Me, event_id: bytes) -> str | None:
    row = me.db.message_by_id(event_id)
    return None if row is None else row.text


def body_erased(me: Me, conv: bytes, author: bytes, seq: int) -> bool:
    [(body,)] = me.db.execute(
        "SELECT body FROM events WHERE conv = ? AND author = ? AND seq = ?", (conv, author, seq)
    )
    return body is None


# -- replies ----------------------------------------------------------------------------------


async def test_a_reply_names_its_target_and_the_quote_is_drawn_from_it(me: Me) -> None:
    bob, conv = contact(me)
    question = bob.event(conv, Msg("lunch at noon?"))
    apply(me, [question])
    reply = await me.core.actions.reply(conv, question.id.hex()[:10], "yes!")
    assert reply.reply_to == question.id and reply.text == "yes!"
    quote = me.core.actions.quote(reply)
    assert quote is not None and quote.text == "lunch at noon?"
    # The quote is never copied: an edit of the target shows in it.
    apply(me, [bob.event(conv, EditBody(question.id, "lunch at one?"))])
    quote = me.core.actions.quote(reply)
    assert quote is not None and quote.text == "lunch at one?"


async def test_a_reply_to_a_message_of_another_conversation_is_refused(me: Me) -> None:
    bob, conv_b = contact(me)
    carol, conv_c = contact(me, "carol")
    secret = carol.event(conv_c, Msg("for your eyes only"))
    apply(me, [secret])
    with pytest.raises(UserError, match="no message"):
        await me.core.actions.reply(conv_b, secret.id.hex(), "quoting carol")
    with pytest.raises(UserError, match="no such message in this conversation"):
        me.core.messages.queue(bob.user, "x", reply_to=secret.id)
    # From the network: bob's reply to carol's message is refused, nothing stored.
    sneaky = bob.event(conv_b, Msg("look what carol said", secret.id))
    apply(me, [sneaky])
    assert me.db.message_by_id(sneaky.id) is None


async def test_a_reply_whose_target_comes_later_quotes_it_once_it_is_here(me: Me) -> None:
    bob, conv = contact(me)
    phone = other_device(bob.identity, "bob-phone")
    me.knows(phone)
    first = phone.event(conv, Msg("first"))
    answer = bob.event(conv, Msg("about that", first.id))
    apply(me, [answer])
    row = me.db.message_by_id(answer.id)
    assert row is not None and me.core.actions.quote(row) is None
    apply(me, [first])
    quote = me.core.actions.quote(row)
    assert quote is not None and quote.text == "first"


def test_a_message_body_with_a_bad_reply_or_timer_is_malformed() -> None:
    from kith.p2p.messages import MESSAGE

    for body in (Msg("x", b"short"), Msg("x", b"", -1), Msg("x", b"", 10**9)):
        with pytest.raises(ValueError, match="bad reply_to or timer"):
            MESSAGE.encode(body)


# -- reactions --------------------------------------------------------------------------------


@pytest.mark.parametrize("ok", [*TAPBACKS, "\U0001f469\u200d\U0001f469\u200d\U0001f467",
                                "\U0001f1eb\U0001f1f7", "1\ufe0f\u20e3", "\U0001f44d\U0001f3fd"])
def test_one_emoji_is_a_reaction(ok: str) -> None:
    assert emoji_problem(ok) is None


@pytest.mark.parametrize("bad", ["", "a", "ok", "\U0001f44d\U0001f44d", "\U0001f44d ",
                                 "\u200d", "\x1b[31m", "\U0001f44d" * 40])
def test_anything_but_one_emoji_is_not(bad: str) -> None:
    assert emoji_problem(bad) is not None


def test_a_reaction_body_that_is_not_one_emoji_is_malformed() -> None:
    data = b"\x92\xc4\x20" + b"t" * 32 + b"\xa2hi"  # [target, "hi"]
    with pytest.raises(RemoteProtocolError, match="not a single emoji"):
        REACTION.decode(data)


async def test_reactions_one_per_person_replace_and_remove(me: Me) -> None:
    bob, conv = contact(me)
    mine = await send(me, conv, "I passed the exam")
    apply(me, [bob.event(conv, ReactionBody(mine, "\u2764\ufe0f"))])
    assert me.db.reactions([mine]) == {mine: [("\u2764\ufe0f", bob.user)]}
    assert me.emitted(MessagesChanged)[-1].ids == [mine]
    apply(me, [bob.event(conv, ReactionBody(mine, "\U0001f602"))])  # changing it replaces it
    await me.core.actions.react(conv, mine.hex(), "\U0001f44d")
    assert me.db.reactions([mine]) == {mine: [("\U0001f602", bob.user), ("\U0001f44d", me.user)]}
    await me.core.actions.react(conv, mine.hex(), "\U0001f44d", remove=True)
    apply(me, [bob.event(conv, ReactionBody(mine, ""))])
    assert me.db.reactions([mine]) == {}


async def test_the_newest_reaction_wins_whatever_the_order_of_arrival(me: Me) -> None:
    bob, conv = contact(me)
    phone = other_device(bob.identity, "bob-phone")
    me.knows(phone)
    mine = await send(me, conv, "hi")
    newer = phone.event(conv, ReactionBody(mine, "\U0001f44e"), lamport=50)
    older = bob.event(conv, ReactionBody(mine, "\U0001f44d"), lamport=10)
    apply(me, [newer])
    apply(me, [older])
    assert me.db.reactions([mine]) == {mine: [("\U0001f44e", bob.user)]}


async def test_a_reaction_to_a_message_of_another_conversation_shows_nowhere(me: Me) -> None:
    bob, conv_b = contact(me)
    carol, conv_c = contact(me, "carol")
    to_carol = await send(me, conv_c, "hello carol")
    apply(me, [bob.event(conv_b, ReactionBody(to_carol, "\U0001f602"))])
    assert me.db.reactions([to_carol]) == {}


async def test_a_reaction_from_someone_who_is_not_a_contact_is_refused(me: Me) -> None:
    bob, conv = contact(me)
    mine = await send(me, conv, "hi")
    me.core.contacts.save(bob.user, state="declined")
    apply(me, [bob.event(conv, ReactionBody(mine, "\U0001f602"))])
    assert me.db.reactions([mine]) == {}


async def test_the_api_refuses_what_is_not_one_emoji_and_removing_what_is_not_there(
    me: Me,
) -> None:
    bob, conv = contact(me)
    mine = await send(me, conv, "hi")
    with pytest.raises(UserError, match="one emoji"):
        await me.core.actions.react(conv, mine.hex(), "lol")
    with pytest.raises(UserError, match="not reacted"):
        await me.core.actions.react(conv, mine.hex(), "\U0001f44d", remove=True)
    with pytest.raises(UserError, match="no message"):
        await me.core.actions.react(conv, "ffff", "\U0001f44d")


# -- edits ------------------------------------------------------------------------------------


async def test_the_author_edits_the_text_shows_the_new_one_and_the_versions_are_kept(
    me: Me,
) -> None:
    bob, conv = contact(me)
    msg = bob.event(conv, Msg("see you at 8"))
    apply(me, [msg])
    apply(me, [bob.event(conv, EditBody(msg.id, "see you at 9"))])
    row = me.db.message_by_id(msg.id)
    assert row is not None and (row.text, row.edits) == ("see you at 9", 1)
    assert [t for t, _ in me.db.versions(msg.id)] == ["see you at 8", "see you at 9"]
    assert [m.event_id for m in me.db.search("9")] == [msg.id]
    assert me.db.search("8") == []  # the index follows the text
    assert msg.id in me.emitted(MessagesChanged)[-1].ids


async def test_an_edit_by_someone_else_is_refused_and_its_body_erased(me: Me) -> None:
    bob, conv = contact(me)
    mine = await send(me, conv, "the meeting is at 10")
    forged = bob.event(conv, EditBody(mine, "the meeting is cancelled"))
    apply(me, [forged])
    assert text_of(me, mine) == "the meeting is at 10"
    assert me.db.versions(mine) == []
    assert body_erased(me, conv, bob.device, forged.event.seq)
    theirs = bob.event(conv, Msg("x"))
    apply(me, [theirs])
    with pytest.raises(UserError, match="not your message"):
        await me.core.actions.edit(conv, theirs.id.hex(), "y")


async def test_an_edit_after_24_hours_by_the_authors_clock_is_refused(me: Me) -> None:
    bob, conv = contact(me)
    sent = int(time.time() * 1000) - 2 * WINDOW_MS
    msg = bob.event(conv, Msg("old news"), time_ms=sent)
    apply(me, [msg])
    apply(me, [bob.event(conv, EditBody(msg.id, "late"), time_ms=sent + WINDOW_MS + HOUR)])
    assert text_of(me, msg.id) == "old news"
    apply(me, [bob.event(conv, EditBody(msg.id, "in time"), time_ms=sent + WINDOW_MS - HOUR)])
    assert text_of(me, msg.id) == "in time"  # (the author's clock counts, not mine)


async def test_at_most_ten_edits_count(me: Me) -> None:
    bob, conv = contact(me)
    msg = bob.event(conv, Msg("v0"))
    apply(me, [msg])
    apply(me, [bob.event(conv, EditBody(msg.id, f"v{i}")) for i in range(1, MAX_EDITS + 2)])
    row = me.db.message_by_id(msg.id)
    assert row is not None and (row.text, row.edits) == (f"v{MAX_EDITS}", MAX_EDITS)
    assert len(me.db.versions(msg.id)) == MAX_EDITS + 1


async def test_an_edit_that_comes_before_its_message_applies_when_it_arrives(me: Me) -> None:
    bob, conv = contact(me)
    laptop = other_device(bob.identity, "bob-laptop")
    me.knows(laptop)
    msg = bob.event(conv, Msg("typo hree"))
    apply(me, [laptop.event(conv, EditBody(msg.id, "typo here"))])
    apply(me, [msg])
    assert text_of(me, msg.id) == "typo here"
    [added] = [e for e in me.emitted(MessagesAdded) if e.messages[0].event_id == msg.id]
    assert added.messages[0].text == "typo here"  # never shown with the old text


async def test_the_api_edits_my_message_and_refuses_what_is_not_allowed(me: Me) -> None:
    bob, conv = contact(me)
    mine = await send(me, conv, "helo")
    row = await me.core.actions.edit(conv, mine.hex()[:8], "hello")
    assert (row.text, row.edits) == ("hello", 1)
    with pytest.raises(UserError, match="already"):
        await me.core.actions.edit(conv, mine.hex(), "hello")
    for i in range(MAX_EDITS - 1):
        await me.core.actions.edit(conv, mine.hex(), f"hello {i}")
    with pytest.raises(UserError, match="edited 10 times"):
        await me.core.actions.edit(conv, mine.hex(), "one more")


async def test_react_edit_and_unsend_check_their_target_alike(
    me: Me, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One check before each: a conversation I may write in, a message that is there
    and not unsent; edit and unsend also: mine, and sent under 24 hours ago."""
    import kith.p2p.actions as actions

    bob, conv = contact(me)
    mine, gone = await send(me, conv, "mine"), await send(me, conv, "gone")
    await me.core.actions.unsend(conv, gone.hex())
    theirs = bob.event(conv, Msg("theirs"))
    apply(me, [theirs])
    api = me.core.actions
    for act in (lambda q: api.react(conv, q, "👍"), lambda q: api.edit(conv, q, "new"),
                lambda q: api.unsend(conv, q)):
        with pytest.raises(UserError, match="no message"):
            await act("ffffffff")
        with pytest.raises(UserError, match="was unsent"):
            await act(gone.hex())
    await api.react(conv, theirs.id.hex(), "👍")  # (anyone's message takes a reaction)
    for verb, act in (("edit", lambda q: api.edit(conv, q, "new")),
                      ("unsend", lambda q: api.unsend(conv, q))):
        with pytest.raises(UserError, match=f"only its author can {verb} it"):
            await act(theirs.id.hex())
    later = actions.now_ms() + 2 * WINDOW_MS
    monkeypatch.setattr(actions, "now_ms", lambda: later)
    with pytest.raises(UserError, match="can be edited within 24 hours"):
        await api.edit(conv, mine.hex(), "new")
    with pytest.raises(UserError, match="can be unsent within 24 hours"):
        await api.unsend(conv, mine.hex())
    await api.react(conv, mine.hex(), "👍")  # (a reaction has no time limit)
    me.core.contacts.save(bob.user, name="bob", state="declined")
    for act in (lambda q: api.react(conv, q, "👍"), lambda q: api.edit(conv, q, "new"),
                lambda q: api.unsend(conv, q)):
        with pytest.raises(UserError, match="not a contact yet"):
            await act(mine.hex())


async def test_edits_go_through_the_real_receive_pipeline(me: Me) -> None:
    bob, conv = contact(me)
    msg = bob.event(conv, Msg("piped"))
    receive(me, peer(bob), [msg, bob.event(conv, EditBody(msg.id, "piped, edited"))])
    assert text_of(me, msg.id) == "piped, edited"
