"""Benchmark: the cost of p2p.noise on one core (no network, no sockets).

Run by hand::

    .venv/bin/python tests/bench/bench_noise.py [--seconds 1.0]

Measures, each as the best of five runs of about ``--seconds / 5``:

- ``CipherState`` seal + open of one transport message (200 B, 4 KiB, 64 KiB), the path
  every Kith frame takes;
- the bare PyNaCl binding (``nacl.bindings.crypto_aead_chacha20poly1305_ietf_*``) on the
  same sizes, so the overhead of CipherState itself is visible;
- complete ``Noise_XX_25519_ChaChaPoly_BLAKE2b`` handshakes (both sides, split included).

p2p.noise uses only PyNaCl's public API; this benchmark is how that choice is measured
(CHANGELOG.md has the figures from before and after).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from nacl.bindings import (  # noqa: E402
    crypto_aead_chacha20poly1305_ietf_decrypt,
    crypto_aead_chacha20poly1305_ietf_encrypt,
)

from kith.p2p.noise import CipherState, HandshakeState  # noqa: E402

SIZES = (200, 4096, 65535 - 16)


def rate(step: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``step``: the best of five timed runs."""
    batch = 1
    while True:  # find a batch that takes about a fiftieth of the time
        start = time.perf_counter()
        for _ in range(batch):
            step()
        if time.perf_counter() - start > seconds / 250:
            break
        batch *= 2
    best = 0.0
    for _ in range(5):
        count = 0
        start = time.perf_counter()
        deadline = start + seconds / 5
        while time.perf_counter() < deadline:
            for _ in range(batch):
                step()
            count += batch
        best = max(best, count / (time.perf_counter() - start))
    return best


def cipher_round_trip(size: int) -> Callable[[], object]:
    key = bytes(range(32))
    sender, receiver = CipherState(key), CipherState(key)
    plaintext = bytes(size)

    def step() -> object:
        return receiver.decrypt_with_ad(b"", sender.encrypt_with_ad(b"", plaintext))

    return step


def binding_round_trip(size: int) -> Callable[[], object]:
    key, nonce, plaintext = bytes(range(32)), bytes(12), bytes(size)

    def step() -> object:
        sealed = crypto_aead_chacha20poly1305_ietf_encrypt(plaintext, b"", nonce, key)
        return crypto_aead_chacha20poly1305_ietf_decrypt(sealed, b"", nonce, key)

    return step


def handshake() -> object:
    initiator = HandshakeState("XX", True, b"kith/1", bytes([1]) * 32)
    responder = HandshakeState("XX", False, b"kith/1", bytes([2]) * 32)
    responder.read_message(initiator.write_message())
    initiator.read_message(responder.write_message(b"certificate"))
    responder.read_message(initiator.write_message(b"certificate"))
    return initiator.split(), responder.split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    args = parser.parse_args()
    print("seal + open of one message (messages/s, one core):")
    for size in SIZES:
        cipher = rate(cipher_round_trip(size), args.seconds)
        binding = rate(binding_round_trip(size), args.seconds)
        print(
            f"  {size:>6} B  CipherState {cipher:>10,.0f}/s   bare binding {binding:>10,.0f}/s"
            f"   ({cipher * size / 1e6:,.0f} MB/s through CipherState)"
        )
    print(f"XX handshakes (both sides): {rate(handshake, args.seconds):,.0f}/s")


if __name__ == "__main__":
    main()
