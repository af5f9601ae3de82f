"""A stranger cannot claim a device id first (hardening #3): a certificate proves only
that the user it names claims the device; claims stay apart, and which one an event
counts for is decided by where the device writes and by the device's own handshake."""

from __future__ import annotations

from nodekit import add_device, befriend, until

from kith.p2p import wire
from kith.p2p.identity import certify_device, load_identity


async def test_a_strangers_claim_on_a_contacts_new_device_changes_nothing(nodes, tmp_path):
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    laptop_profile = add_device(tmp_path, "bob", "bob-laptop")
    laptop_id = load_identity(tmp_path / laptop_profile).device_id
    # mallory, a stranger on the LAN, claims the laptop's id (public in its advert) for
    # herself before alice has met it: a valid signature, by mallory's own key
    mallory = await nodes("mallory")
    await mallory.connect("127.0.0.1", alice.port)
    await until(lambda: alice.online(mallory.user_id), alice, mallory)
    forged = certify_device(mallory.identity.user_secret, laptop_id, "bob-laptop")
    (to_alice,) = mallory.net.live_of(alice.user_id)
    to_alice.conn.send(wire.Certs([forged]))
    await until(lambda: alice.db.device_claims(laptop_id) != [], alice, mallory)
    assert alice.db.device(laptop_id).user_id == mallory.user_id  # the only claim so far

    # bob's laptop meets only bob's desktop and writes to alice: the desktop relays it
    laptop = await nodes("bob", profile=laptop_profile)
    await laptop.connect("127.0.0.1", bob.port)
    await until(lambda: any(c.user_id == alice.user_id for c in laptop.contacts()), laptop)
    sent = await laptop.send_message("alice", "from my laptop")
    await until(lambda: any(m.event_id == sent.event_id for m in alice.history("bob")),
                alice, bob, laptop, mallory)
    assert alice.online(bob.user_id)  # the relay was not dropped
    (msg,) = [m for m in alice.history("bob") if m.event_id == sent.event_id]
    assert msg.sender == bob.user_id
    users = sorted(c.user_id for c in alice.db.device_claims(laptop_id))
    assert users == sorted([bob.user_id, mallory.user_id])

    # the laptop meets alice itself: its own claim is proven, and it is the one that counts
    await laptop.connect("127.0.0.1", alice.port)
    def counts():
        return alice.db.device(laptop_id)

    assert counts() is None  # two unproven claims: neither counts outside a conversation
    await until(lambda: counts() is not None and counts().user_id == bob.user_id,
                alice, laptop)
    assert counts().proven
