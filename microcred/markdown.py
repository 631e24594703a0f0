"""Markdown from the catalog (a badge's criteria) rendered as HTML that is safe to put in a page."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

# Raw HTML off: a tag written in the Markdown is escaped, never passed through. The default link
# validation stays on, so javascript:, vbscript: and data: links (bar images) are not linked.
# Built once: the parser keeps no state between renders.
_PARSER = MarkdownIt("commonmark", {"html": False})


def render_markdown(source: str, *, top_heading: int = 3) -> Markup:
    """``source`` as safe HTML, its headings moved down to start at ``<h{top_heading}>``."""
    tokens = _PARSER.parse(source)
    for token in tokens:
        # The page around the Markdown owns the h1 and the section headings above it.
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1:]) + top_heading - 1, 6)}"
    return Markup(_PARSER.renderer.render(tokens, _PARSER.options, {}))
