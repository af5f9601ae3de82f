"""The fuzzing and kill -9 campaigns at full size (CI runs them small).

Run inside a private network namespace (they use loopback only)::

    unshare -n sh -c 'ip link set lo up; .venv/bin/python tests/bench/campaigns.py'
    unshare -n sh -c 'ip link set lo up; .venv/bin/python tests/bench/campaigns.py --scale 75'

``--scale`` multiplies the CI size (500 mutated handshakes, 2,000 mutated frames after a
valid handshake, 10 kills of a receiving daemon mid-stream): 75 gives about 37,500
handshakes, 150,000 frames and 750 kills. It runs tests/integration/test_campaigns.py with
``KITH_CAMPAIGN_SCALE`` set and prints how long each campaign took; every check of the
tests holds at any size (nothing crashes, nothing acknowledged is lost or duplicated,
chains intact, the node keeps serving).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=10)
    args = ap.parse_args()
    env = {**os.environ, "KITH_CAMPAIGN_SCALE": str(args.scale), "QT_QPA_PLATFORM": "offscreen"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--timeout=0",
           "--durations=0", str(ROOT / "tests/integration/test_campaigns.py")]
    print(f"campaigns at scale {args.scale}: " + " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
