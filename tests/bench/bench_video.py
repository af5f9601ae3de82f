"""Benchmark: describing a video when it is sent (p2p.files.media through the descriptor).

Run by hand (no network)::

    .venv/bin/python tests/bench/bench_video.py [--width 1920 --height 1080 --seconds 20]

Setup (not measured): a video made with PyAV (MPEG-4 part 2) whose first 2 s are black,
so the preview scan decodes the most frames it may (up to 3 s, 120 frames).

Measured: the time of ``descriptor.describe`` on it (best of three: sniffing, probing,
decoding up to the first non-black frame, the preview JPEG), and the peak RSS of the
process (making the video included: an upper bound). Target: under 1 s for a 1080p
video, and under 150 MB of RSS (the budget of a node), so sending a video stays as quick
as sending a photo.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from mediakit import make_video  # noqa: E402

from kith.p2p.files import descriptor  # noqa: E402
from kith.p2p.files import manifest as mf  # noqa: E402

TARGET_S = 1.0
TARGET_RSS_MB = 150.0


def peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--fps", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = make_video(Path(tmp) / "bench.mp4", width=args.width, height=args.height,
                          seconds=args.seconds, fps=args.fps, black=2 * args.fps)
        m = mf.scan(path)
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            a = descriptor.describe(path, m)
            best = min(best, time.perf_counter() - t0)
        rss = peak_rss_mb()
        print(f"{args.width}x{args.height}, {args.seconds:g} s at {args.fps} fps, "
              f"{path.stat().st_size / 1e6:.1f} MB: described in {best:.3f} s "
              f"(target < {TARGET_S:g} s); {a.width}x{a.height}, {a.duration} ms, preview "
              f"{len(a.preview)} B; peak RSS {rss:.0f} MB (target < {TARGET_RSS_MB:g} MB)")
        ok = best < TARGET_S and rss < TARGET_RSS_MB and a.is_video
        print("OK" if ok else "MISSED")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
