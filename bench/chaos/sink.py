"""The drill's SMTP server: it accepts every message and counts each by its Message-ID, which
microcred keeps the same for every delivery of one notification."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from email import message_from_bytes
from typing import Any

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


class MailSink:
    """An aiosmtpd server in a thread of its own, never restarted: the ground truth of mail."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.arrivals: defaultdict[str, list[float]] = defaultdict(list)  # Message-ID -> monotonic times
        self._lock = threading.Lock()  # the server's thread appends, the drill reads
        self._controller = Controller(self, hostname=HOST, port=port)

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        message = message_from_bytes(content if isinstance(content, bytes) else content.encode())
        with self._lock:
            self.arrivals[str(message.get("Message-ID", ""))].append(time.monotonic())
        return "250 Message accepted for delivery"

    def counts(self) -> Counter[str]:
        """Deliveries by Message-ID."""
        with self._lock:
            return Counter({mid: len(times) for mid, times in self.arrivals.items()})

    def twice(self) -> dict[str, tuple[float, float]]:
        """Each message delivered more than once: its first and last arrival."""
        with self._lock:
            return {mid: (times[0], times[-1]) for mid, times in self.arrivals.items() if len(times) > 1}

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
