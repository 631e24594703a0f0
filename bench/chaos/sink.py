"""The drill's SMTP server: it accepts every message and counts each by its Message-ID, which
microcred keeps the same for every delivery of one notification."""

from __future__ import annotations

import threading
from collections import Counter
from email import message_from_bytes
from typing import Any

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


class MailSink:
    """An aiosmtpd server in a thread of its own, never restarted: the ground truth of mail."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: Counter[str] = Counter()  # Message-ID -> deliveries
        self._lock = threading.Lock()  # the server's thread appends, the drill reads
        self._controller = Controller(self, hostname=HOST, port=port)

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        message = message_from_bytes(content if isinstance(content, bytes) else content.encode())
        with self._lock:
            self.received[str(message.get("Message-ID", ""))] += 1
        return "250 Message accepted for delivery"

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(self.received)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
