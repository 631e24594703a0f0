"""Write the API's OpenAPI document, from which the web app's client is generated.

``python -m api.openapi frontend/openapi.json`` (``make client``). The document is that of a
dev deployment, so it holds the dev sign-in route the web app calls there.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from api.main import create_app
from microcred.config import Settings


def document() -> dict[str, Any]:
    """The OpenAPI document, independent of this machine's environment."""
    settings = Settings.model_validate({"environment": "dev", "auth_secret": "openapi-" + "0" * 32})
    return create_app(settings).openapi()


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m api.openapi <file>\n")
        return 2
    Path(argv[0]).write_text(dumps(document()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
