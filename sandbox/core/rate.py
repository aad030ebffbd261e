"""Sliding-window rate limits, the way both vendors count requests.

Severa allows about ten requests per second per client, eEkonomi 600 per minute per
endpoint; a client that ignores either gets 429s in production, so the sandboxes enforce
them too. The back office can scale the limits up for benchmarks
(``POST /_sandbox/rate-limits``).
"""

from __future__ import annotations

import threading
import time
from collections import deque


class RateWindow:
    """A sliding-window request counter (thread-safe): ``hit`` says whether a request fits."""

    def __init__(self, limit: int, window_seconds: float) -> None:
        self.limit = limit
        self.window = window_seconds
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, scale: float = 1.0, now: float | None = None) -> float | None:
        """Count one request for ``key``; return ``None`` if allowed, else seconds to wait."""
        limit = max(1, int(self.limit * scale))
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= limit:
                return max(0.0, hits[0] + self.window - now)
            hits.append(now)
            return None

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
