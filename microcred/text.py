"""What text microcred accepts: any Unicode but C0 control characters (tab, newline and
carriage return excepted) and lone surrogates.

NUL is refused by PostgreSQL in text columns, the other controls have no business in a
member's answer or an admin's reason, and a lone surrogate cannot be encoded as UTF-8 at all.
The API refuses them at its boundary (``api/boundary.py``); the workflow's rules refuse them
too, for messages that come another way (an operator's ``temporal workflow update``).
"""

from __future__ import annotations

import re

FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def clean(text: str) -> bool:
    return FORBIDDEN.search(text) is None


def describe(text: str) -> str:
    """The first forbidden character of ``text``, named as U+XXXX."""
    found = FORBIDDEN.search(text)
    return f"U+{ord(found.group()):04X}" if found else "nothing"
