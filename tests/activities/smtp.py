"""A real SMTP server for the mail tests (aiosmtpd in a thread of its own)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from microcred.mail import SmtpConfig

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Delivered:
    mail_from: str
    recipients: list[str]
    message: Message


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self._server.refuse_recipients is not None:
            return self._server.refuse_recipients
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self._server.refuse_data is not None:
            return self._server.refuse_data
        content = envelope.original_content or envelope.content
        self._server.inbox.append(
            Delivered(
                mail_from=envelope.mail_from,
                recipients=list(envelope.rcpt_tos),
                message=message_from_bytes(content if isinstance(content, bytes) else content.encode()),
            )
        )
        return "250 Message accepted for delivery"


class SmtpServer:
    """Its port is chosen up front, so a test can use the address while the server is still down.

    ``refuse_recipients`` / ``refuse_data``: the reply (e.g. ``"550 5.1.1 no such user"``) to every
    RCPT or DATA command instead of accepting it.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.inbox: list[Delivered] = []
        self.refuse_recipients: str | None = None
        self.refuse_data: str | None = None
        self._controller: Controller | None = None

    @property
    def config(self) -> SmtpConfig:
        return SmtpConfig.from_url(f"smtp://{HOST}:{self.port}")

    def start(self) -> None:
        self._controller = Controller(_Handler(self), hostname=HOST, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
