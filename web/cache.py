"""A small in-process cache with a time to live, for pages whose figures are the same for everyone.

Each worker process keeps its own copy (nothing is shared or stored); a value is made again once
it is older than its time to live. Never for anything that depends on who asks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any


class TTLCache:
    """``get(key, seconds, make)``: the value made at most ``seconds`` ago, else ``make()`` kept anew."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._items: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable, seconds: float, make: Callable[[], Any]) -> Any:
        now = self._clock()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]
        value = make()  # outside the lock: two threads may both make it once, neither waits on the other
        with self._lock:
            # Drop what has expired, so old keys (yesterday's date) do not pile up.
            self._items = {k: v for k, v in self._items.items() if v[0] > now}
            self._items[key] = (now + seconds, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
