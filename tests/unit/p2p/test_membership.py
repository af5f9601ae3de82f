"""The membership rules of a group, sans-IO: the fold, rights, limits, cut-offs, and the
same result whatever order concurrent events arrive in."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kith.p2p import membership as mb

ALICE, BOB, CAROL, DAVE = (bytes([i]) * 32 for i in (1, 2, 3, 4))
DEV = {ALICE: b"a" * 32, BOB: b"b" * 32, CAROL: b"c" * 32, DAVE: b"d" * 32}


class Log:
    """Control events as devices write them: a seq per device, Lamport clocks."""

    def __init__(self) -> None:
        self.seq: dict[bytes, int] = {}
        self.events: dict[bytes, mb.Control] = {}

    def write(self, user: bytes, body: mb.ControlBody, *, lamport: int, seq: int | None = None,
              device: bytes | None = None) -> mb.Control:
        device = device or DEV[user]
        n = seq if seq is not None else self.seq.get(device, 0) + 1
        self.seq[device] = n
        c = mb.Control(mb.ref(device, n), user, device, n, lamport, 0, body)
        self.events[c.id] = c
        return c


def create(log: Log, *members: bytes, history: bool = False) -> mb.Control:
    return log.write(ALICE, mb.CreateBody("Board games", list(members),
                                          ["alice", *("x" for _ in members)], history),
                     lamport=1)


def test_group_ids_say_they_are_groups() -> None:
    from kith.p2p.events import direct_conversation, self_conversation

    g = mb.new_group_id()
    assert mb.is_group_id(g) and len(g) == 32 and g != mb.new_group_id()
    assert not mb.is_group_id(direct_conversation(ALICE, BOB))
    assert not mb.is_group_id(self_conversation(ALICE))
    assert not mb.is_group_id(g[:16] + bytes(16))


def test_create_add_rename_roles_and_leave() -> None:
    log = Log()
    c = create(log, BOB, CAROL)
    s = mb.fold(log.events.values())
    assert (s.name, s.role(ALICE), s.role(BOB)) == ("Board games", "owner", "member")
    assert s.owner == ALICE
    log.write(ALICE, mb.AddBody([c.id], [DAVE], ["dave"]), lamport=2)
    s = mb.fold(log.events.values())
    assert s.members[DAVE].since == 2 and s.names[DAVE] == "dave"
    role = log.write(ALICE, mb.RoleBody(mb.heads(log.events.values()), BOB, mb.ADMIN), lamport=3)
    rename = log.write(BOB, mb.RenameBody([role.id], "Game night"), lamport=4)
    assert mb.admit_control(rename, log.events) is None
    log.write(CAROL, mb.LeaveBody([rename.id], []), lamport=5)
    s = mb.fold(log.events.values())
    assert s.name == "Game night" and s.role(BOB) == mb.ADMIN and CAROL not in s.members
    assert s.former[CAROL].how == "left"
    assert [ch.kind for ch in s.changes] == [
        "created", "member_added", "role", "renamed", "member_left"]


@pytest.mark.parametrize(("author", "body", "reason"), [
    (BOB, mb.AddBody([], [DAVE], ["dave"]), "only the owner and admins may add"),
    (BOB, mb.RenameBody([], "Mine"), "only the owner and admins may rename"),
    (BOB, mb.RoleBody([], CAROL, mb.ADMIN), "only the owner may make"),
    (BOB, mb.SettingsBody([], True), "only the owner may change"),
    (BOB, mb.RemoveBody([], ALICE, []), "only the owner and admins may remove"),
    (DAVE, mb.LeaveBody([], []), "not a member"),
    (ALICE, mb.RemoveBody([], ALICE, []), "not themselves"),
    (ALICE, mb.AddBody([], [BOB], ["bob"]), "member already"),
])
def test_changes_without_the_right_are_refused(author, body, reason) -> None:
    log = Log()
    c = create(log, BOB, CAROL)
    body = type(body)(*([c.id], *[getattr(body, f) for f in body.__struct_fields__[1:]]))
    e = log.write(author, body, lamport=2)
    assert reason in (mb.admit_control(e, {c.id: c}) or "")


def test_an_admin_may_not_remove_another_admin_or_the_owner() -> None:
    log = Log()
    c = create(log, BOB, CAROL)
    r1 = log.write(ALICE, mb.RoleBody([c.id], BOB, mb.ADMIN), lamport=2)
    r2 = log.write(ALICE, mb.RoleBody([r1.id], CAROL, mb.ADMIN), lamport=3)
    bad = log.write(BOB, mb.RemoveBody([r2.id], CAROL, []), lamport=4)
    assert "only the owner may remove an admin" in (mb.admit_control(bad, log.events) or "")


def test_limits_on_names_and_members() -> None:
    too_many = [bytes([i % 256, i // 256]) * 16 for i in range(mb.MAX_MEMBERS)]
    assert "at most 256" in (mb.check_body(mb.CreateBody("x", too_many, ["n"] * 257)) or "")
    assert mb.check_body(mb.CreateBody("x", too_many[:255], ["n"] * 256)) is None
    assert "at most 100" in (mb.check_body(mb.RenameBody([], "x" * 101)) or "")
    assert mb.check_body(mb.RenameBody([], "x" * 100)) is None
    assert "empty" in (mb.check_body(mb.RenameBody([], "  ")) or "")
    log = Log()
    c = create(log, *too_many[:250])
    add = log.write(ALICE, mb.AddBody([c.id], too_many[250:] + [DAVE], ["n"] * 6), lamport=2)
    assert "at most 256" in (mb.admit_control(add, log.events) or "")


def test_a_control_event_naming_what_i_lack_waits() -> None:
    log = Log()
    c = create(log, BOB)
    add = log.write(ALICE, mb.AddBody([c.id], [DAVE], ["dave"]), lamport=2)
    assert mb.admit_control(add, {}) == mb.MISSING
    assert mb.admit_control(add, {c.id: c}) is None


def test_a_second_create_is_refused() -> None:
    log = Log()
    c = create(log, BOB)
    again = log.write(BOB, mb.CreateBody("Mine", [], ["bob"]), lamport=1, seq=1)
    assert "created once" in (mb.admit_control(again, {c.id: c}) or "")


def test_the_owner_leaving_hands_over_to_the_oldest_admin() -> None:
    log = Log()
    c = create(log, BOB, CAROL)
    r = log.write(ALICE, mb.RoleBody([c.id], CAROL, mb.ADMIN), lamport=2)
    log.write(ALICE, mb.LeaveBody([r.id], []), lamport=3)
    s = mb.fold(log.events.values())
    assert s.owner == CAROL and ALICE not in s.members


def _concurrent() -> tuple[Log, list[mb.Control]]:
    """Alice and Bob (both admins) change the group on disconnected devices."""
    log = Log()
    c = create(log, BOB, CAROL)
    r = log.write(ALICE, mb.RoleBody([c.id], BOB, mb.ADMIN), lamport=2)
    a1 = log.write(ALICE, mb.RemoveBody([r.id], CAROL, [mb.Cutoff(DEV[CAROL], 3)]), lamport=3)
    a2 = log.write(ALICE, mb.RenameBody([a1.id], "Alice's"), lamport=4)
    b1 = log.write(BOB, mb.AddBody([r.id], [DAVE], ["dave"]), lamport=3)
    b2 = log.write(BOB, mb.RenameBody([b1.id], "Bob's"), lamport=4)
    b3 = log.write(BOB, mb.RoleBody([b2.id], CAROL, mb.ADMIN), lamport=5)  # no right
    return log, [c, r, a1, a2, b1, b2, b3]


def test_concurrent_changes_end_in_the_same_state_in_every_arrival_order() -> None:
    log, events = _concurrent()
    results = set()
    for order in itertools.permutations(events[2:]):
        s = mb.fold([*events[:2], *order])
        results.add((s.name, tuple(sorted((u, m.role) for u, m in s.members.items()))))
    assert len(results) == 1
    [(name, members)] = results
    # (lamport, device) order: a1 (lamport 3, device a) before b1; a2 before b2 (lamport 4).
    assert name == "Bob's"
    assert dict(members) == {ALICE: "owner", BOB: "admin", DAVE: "member"}
    assert "only the owner may make" in (mb.admit_control(events[-1], log.events) or "")


@settings(max_examples=200, deadline=None)
@given(st.permutations(list(range(7))))
def test_the_fold_does_not_depend_on_arrival_order(order: list[int]) -> None:
    _, events = _concurrent()
    base = mb.fold(events)
    s = mb.fold([events[i] for i in order])
    assert (s.name, s.members, s.cutoffs) == (base.name, base.members, base.cutoffs)


def _removal_scenario():
    """Carol's device writes seq 1..5; Alice removes her having seen up to seq 3."""
    log = Log()
    c = create(log, BOB, CAROL)
    carol = [(seq, 1 + seq) for seq in range(1, 6)]  # (seq, lamport) of carol's messages
    rm = log.write(ALICE, mb.RemoveBody([c.id], CAROL, [mb.Cutoff(DEV[CAROL], 3)]), lamport=5)
    return c, rm, carol


@settings(max_examples=200, deadline=None)
@given(st.permutations(list(range(6))))
def test_the_removal_cut_off_under_every_arrival_order(order: list[int]) -> None:
    """Whatever the order in which Carol's five events and her removal arrive, what is
    shown in the end is exactly her events up to the cut-off: an event past it that
    arrived first is un-shown when the removal comes, one that comes after is refused."""
    c, rm, carol = _removal_scenario()
    controls = [c]
    shown: set[int] = set()
    for i in order:
        state = mb.fold(controls)
        if i == 5:  # the removal arrives
            controls.append(rm)
            state = mb.fold(controls)
            shown = {s for s in shown if mb.counts(state, CAROL, DEV[CAROL], s, 0)}
        else:
            seq, lamport = carol[i]
            if mb.counts(state, CAROL, DEV[CAROL], seq, lamport):
                shown.add(seq)
    assert shown == {1, 2, 3}


def test_devices_a_removal_does_not_name_count_for_nothing() -> None:
    c, rm, _ = _removal_scenario()
    s = mb.fold([c, rm])
    assert not mb.counts(s, CAROL, b"z" * 32, 1, 2)  # another device of carol's
    assert mb.counts(s, BOB, DEV[BOB], 10, 20)
    assert not mb.counts(s, DAVE, DEV[DAVE], 1, 20)  # never a member


def test_a_member_added_again_counts_from_the_new_add_only() -> None:
    log = Log()
    c, rm, _ = _removal_scenario()
    log.events = {c.id: c, rm.id: rm}
    log.write(ALICE, mb.AddBody([rm.id], [CAROL], ["carol"]), lamport=9, seq=3)
    s = mb.fold(log.events.values())
    assert CAROL in s.members and CAROL not in s.former
    assert mb.counts(s, CAROL, DEV[CAROL], 3, 4)  # before the cut-off
    assert not mb.counts(s, CAROL, DEV[CAROL], 4, 6)  # past it, from while she was out
    assert mb.counts(s, CAROL, DEV[CAROL], 6, 10)  # after she was added again


def test_what_a_removal_hid_is_shown_again_when_it_turns_out_to_have_no_effect() -> None:
    """Bob (admin) removes Carol while Alice, concurrently, makes Bob a plain member again;
    her demotion sorts first, so the removal has no effect: what it hid counts again."""
    log = Log()
    c = create(log, BOB, CAROL)
    role = log.write(ALICE, mb.RoleBody([c.id], BOB, mb.ADMIN), lamport=2)
    carol_before = (CAROL, DEV[CAROL], 1, 3)  # her first message, before the cut-off
    carol_after = (CAROL, DEV[CAROL], 2, 4)  # written before she heard of the removal
    log.write(BOB, mb.RemoveBody([role.id], CAROL, [mb.Cutoff(DEV[CAROL], 1)]), lamport=6)
    removed = mb.fold(log.events.values())
    assert CAROL in removed.former and not mb.counts(removed, *carol_after)
    assert mb.counts(removed, *carol_before)
    # Alice's demotion of Bob (she had not seen the removal) arrives: it sorts first.
    log.write(ALICE, mb.RoleBody([role.id], BOB, mb.MEMBER), lamport=3)
    after = mb.fold(log.events.values())
    assert CAROL in after.members and not after.cutoffs and after.role(BOB) == mb.MEMBER
    assert mb.loosened(removed, after)
    assert mb.counted_again(removed, after, [carol_before, carol_after]) == [carol_after]
    # ... and the other way: nothing is shown again by a change that hides more.
    assert not mb.loosened(after, removed)
    assert mb.counted_again(after, removed, [carol_before, carol_after]) == []
    # A cut-off that moves on (an added-again member) loosens too; an unrelated change not.
    moved = removed.clone()
    moved.cutoffs[DEV[CAROL]] = (2, 6)
    assert mb.loosened(removed, moved)
    renamed = removed.clone()
    renamed.name = "Game night"
    assert not mb.loosened(removed, renamed)


def test_who_a_message_was_written_to() -> None:
    """members_at: a message's receipts list who was a member when it was written,
    a former member marked, someone added later not at all."""
    log = Log()
    c = create(log, BOB, CAROL)
    add = log.write(ALICE, mb.AddBody([c.id], [DAVE], ["dave"]), lamport=5)
    log.write(ALICE, mb.RemoveBody([add.id], CAROL, [mb.Cutoff(DEV[CAROL], 0)]), lamport=8)
    s = mb.fold(log.events.values())
    assert mb.members_at(s, 3) == {ALICE: False, BOB: False, CAROL: True}
    assert mb.members_at(s, 6) == {ALICE: False, BOB: False, CAROL: True, DAVE: False}
    assert mb.members_at(s, 9) == {ALICE: False, BOB: False, DAVE: False}
