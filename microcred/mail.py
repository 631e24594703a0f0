"""SMTP delivery with aiosmtplib, configured by one URL (``MICROCRED_SMTP_URL``)."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib


@dataclass(frozen=True)
class SmtpConfig:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool | None

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        """``smtp://[user:pass@]host[:port][?starttls=true]`` or ``smtps://`` for implicit TLS."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("MICROCRED_SMTP_URL must look like smtp://user:pass@host:port")
        implicit = parts.scheme == "smtps"
        query = parse_qs(parts.query)
        starttls = query.get("starttls", [None])[0]
        return cls(
            hostname=parts.hostname,
            port=parts.port or (465 if implicit else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=implicit,
            # None lets aiosmtplib upgrade when the server offers STARTTLS.
            start_tls=None if starttls is None else starttls.lower() in ("1", "true", "yes"),
        )


def permanent(error: aiosmtplib.SMTPException) -> bool:
    """A 5xx answer (bad address, refused message) will not succeed on retry."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return all(500 <= r.code < 600 for r in error.recipients)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return 500 <= error.code < 600 and not isinstance(error, aiosmtplib.SMTPServerDisconnected)
    return False


SEND_TIMEOUT = 30.0


async def send(config: SmtpConfig, message: EmailMessage) -> None:
    await aiosmtplib.send(
        message,
        hostname=config.hostname,
        port=config.port,
        username=config.username,
        password=config.password,
        use_tls=config.use_tls,
        start_tls=config.start_tls,
        timeout=SEND_TIMEOUT,
    )
