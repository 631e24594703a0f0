"""Security headers on every response: the web app, the badge and checkout pages, the API.

They matter on the HTML pages, and cost nothing elsewhere:

- ``X-Content-Type-Options: nosniff``: a browser runs or styles a response only as the type it
  was served as, never as what its bytes look like (a JSON answer quoting a member's text
  cannot become a script or a page).
- ``Content-Security-Policy: frame-ancestors 'none'`` and, for browsers that predate it,
  ``X-Frame-Options: DENY``: no other site can show our pages in a frame and trick a member
  into clicking *Pay* or *Submit for review* (clickjacking). The app frames nothing itself (its
  sign-in is a full-page redirect to the provider).
- ``Referrer-Policy: strict-origin-when-cross-origin``: a link to another site (a section's
  resources, LinkedIn, the identity provider) tells it our origin at most, never a page's path.

The policy says nothing about scripts, styles or connections: the pages keep working as they
are (the sign-in talks to the provider's origin; the API docs load their assets from a CDN).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


class SecurityHeaders:
    """ASGI middleware: adds ``SECURITY_HEADERS`` to each response that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)
