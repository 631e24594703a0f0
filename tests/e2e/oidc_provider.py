"""An OpenID Connect provider for the browser tests: ``oidc-provider-mock`` set up the way real
providers serve single-page apps. The web app fetches the discovery document and redeems the
code from the browser, so the endpoints answer with CORS; it is a public client (no secret), so
the code grant accepts one (PKCE stands in for the secret: the browser test checks the
verifier the app sends against the challenge it began with).

``python -m tests.e2e.oidc_provider --port N --user '{"sub": ..., "role": ...}' ...``
"""

from __future__ import annotations

import argparse
import json
import warnings
from collections.abc import Iterable
from typing import Any

from werkzeug.serving import run_simple

CORS = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Headers", "Authorization, Content-Type"),
    ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
]


def with_cors(app: Any) -> Any:
    """``app`` answering preflights and adding CORS headers to every response."""

    def serve(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "OPTIONS":
            start_response("204 No Content", CORS)
            return [b""]

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, headers + CORS, exc_info)

        return app(environ, start)  # type: ignore[no-any-return]

    return serve


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", action="append", default=[], help="claims as JSON, with a sub")
    args = parser.parse_args()
    with warnings.catch_warnings():  # the mock imports authlib modules that announce deprecations
        warnings.simplefilter("ignore")
        import oidc_provider_mock
        from oidc_provider_mock import _app

    # A public client redeems its code without a secret ("none"), as single-page apps do.
    _app.AuthorizationCodeGrant.TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "none"]

    users = [oidc_provider_mock.User(sub=u.pop("sub"), claims=u) for u in map(json.loads, args.user)]
    app = oidc_provider_mock.app(user_claims=users)
    run_simple("127.0.0.1", args.port, with_cors(app), threaded=True)


if __name__ == "__main__":
    main()
