"""Log lines that a flood cannot multiply: one line per key and interval, then a count of
what was held back."""

from __future__ import annotations

import logging
import time

EVERY = 60.0  # seconds between two lines of the same key


class Throttle:
    """``warn(key, ...)`` logs at most once per ``every`` seconds per key; the next line
    of that key says how many were held back in between."""

    def __init__(self, logger: logging.Logger, every: float = EVERY, max_keys: int = 10_000):
        self.logger = logger
        self.every = every
        self.max_keys = max_keys
        self._seen: dict[str, tuple[float, int]] = {}  # key -> (logged at, held back)

    def warn(self, key: str, msg: str, *args: object, level: int = logging.WARNING) -> bool:
        now = time.monotonic()
        at, held = self._seen.get(key, (-self.every, 0))
        if now - at < self.every:
            self._seen[key] = (at, held + 1)
            return False
        if len(self._seen) >= self.max_keys:
            self._seen.clear()
        self._seen[key] = (now, 0)
        if held:
            msg += " (and %d more like it in the last minute)"
            args = (*args, held)
        self.logger.log(level, msg, *args)
        return True
