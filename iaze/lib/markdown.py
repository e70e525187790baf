"""Markdown to HTML for the user guide (docs/guia/), through markdown-it-py (CommonMark, with tables).

Raw HTML in the source is escaped, never passed through. A link or image address is kept only when
`resolve` maps it (the guide's own pages and images, or http(s)); else a link keeps its text without an
address, and an image becomes its alt text. Headings get an id (their slug) for the pages' anchors."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.text import slugify
from markdown_it import MarkdownIt
from markdown_it.token import Token

Resolve = Callable[[str], str | None]


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def _rewrite(tokens: list[Token], resolve: Resolve) -> None:
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and i + 1 < len(tokens):
            token.attrSet("id", slugify(tokens[i + 1].content))
        if token.children:
            _rewrite_inline(token.children, resolve)


def _rewrite_inline(children: list[Token], resolve: Resolve) -> None:
    for n, child in enumerate(children):
        if child.type == "link_open":
            target = resolve(str(child.attrGet("href") or ""))
            if target:
                child.attrSet("href", target)
            else:
                child.attrs.pop("href", None)
        elif child.type == "image":
            target = resolve(str(child.attrGet("src") or ""))
            if target:
                child.attrSet("src", target)
                child.attrSet("loading", "lazy")
            else:
                text = Token("text", "", 0)
                text.content = "".join(c.content for c in child.children or [])
                children[n] = text


def render(text: str, resolve: Resolve) -> str:
    """HTML of `text`; `resolve(address)` answers the href/src to use, or None to drop the address."""
    parser = _parser()
    tokens = parser.parse(text)
    _rewrite(tokens, resolve)
    return parser.renderer.render(tokens, parser.options, {})
