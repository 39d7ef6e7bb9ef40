"""HTML (feed summaries, Discourse ``cooked`` posts) to plain text and the links it holds.

Built on the standard library's ``html.parser``: it never fetches anything, never expands external
entities and tolerates broken markup, which is what untrusted HTML from feeds and forums needs.
Block elements become line breaks so paragraphs stay readable; scripts, styles and embedded media
contribute nothing.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["html_to_text"]

_BLOCK = {
    "p", "div", "br", "li", "ul", "ol", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6",
    "tr", "table", "aside", "section", "article", "header", "footer", "hr", "figure", "details",
}  # fmt: skip
_SKIP = {"script", "style", "noscript", "template", "svg", "iframe", "object"}
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip_depth += 1
            return
        if tag in _BLOCK:
            self.parts.append("\n")
        if tag == "a":
            href = dict(attrs).get("href") or ""
            # Only absolute web links: relative ones (/u/someone, #anchors) name nothing portable.
            if href.startswith(("http://", "https://")) and href not in self.links:
                self.links.append(href)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            return  # a self-closed <iframe/> must not open a skipped region
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def html_to_text(html: str) -> tuple[str, list[str]]:
    """Plain text (paragraphs separated by a blank line) and the absolute links, in order."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [_SPACES.sub(" ", line).strip() for line in "".join(parser.parts).split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text, parser.links
