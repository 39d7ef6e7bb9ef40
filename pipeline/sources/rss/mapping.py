"""Pure mapping of parsed feeds to events: news entries -> Mention, comments -> ThreadPost.

No I/O here, so every rule is testable on bytes. Ids: ``rss:<sha1(feed url + "\\n" + entry id)>``,
the entry id being the feed's own ``<guid>``/``<id>``, else its link, else title and date.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import feedparser

from pipeline.sources.html_text import html_to_text

# An internal DTD subset is where entity definitions live (billion laughs, external entities).
# Real feeds do not need one, so a feed that declares one is refused before any XML parser sees it.
_INTERNAL_DTD = re.compile(rb"<!DOCTYPE[^>\[]*\[", re.IGNORECASE)
_COMMENT_TITLE = re.compile(r"^Comment on (?P<title>.+) by (?P<author>.+)$", re.DOTALL)
_COMMENTS_FEED_TITLE = re.compile(r"^Comments on:?\s*(?P<title>.+)$", re.DOTALL)
MAX_TEXT = 100_000


class NotAFeed(Exception):
    """The bytes are not a usable RSS/Atom document (or are hostile): dead-letter and skip."""


def parse_feed(body: bytes) -> Any:
    """feedparser's result for ``body``; raise NotAFeed with the reason when it is no feed."""
    if _INTERNAL_DTD.search(body):
        raise NotAFeed(
            "feed declares an internal DTD (entity definitions): refused as a possible "
            "entity-expansion (billion laughs) or external-entity attack"
        )
    # Bytes, never a str: feedparser treats a str as a URL or file name to open.
    parsed = feedparser.parse(body)
    if not parsed.get("version") and not parsed.entries:
        why = parsed.get("bozo_exception")
        raise NotAFeed(f"not an RSS or Atom document ({why or 'no feed elements found'})")
    return parsed


def entry_key(entry: Any) -> str | None:
    """The entry's own identity: id/guid, else link, else title + date, else what it says.

    Many feeds give no id, and some no link nor date either; an entry that still has a title or
    a body is a mention all the same, known by a digest of its text (an edit to that text then
    reads as a new entry: better a repeat than a loss). None only for an entry with no text.
    """
    for field in ("id", "link"):
        value = (entry.get(field) or "").strip()
        if value:
            return str(value)
    title = (entry.get("title") or "").strip()
    date = entry.get("published") or entry.get("updated") or ""
    if title and date:
        return f"{title}|{date}"
    text = "\n".join(p for p in (title, _body(entry)[0]) if p)
    return "text:" + hashlib.sha1(text.encode()).hexdigest() if text else None


def event_id(feed_url: str, key: str) -> str:
    return "rss:" + hashlib.sha1(f"{feed_url}\n{key}".encode()).hexdigest()


def _time(entry: Any, feed: Any, now: datetime) -> datetime:
    candidates = ((entry, "published_parsed"), (entry, "updated_parsed"), (feed, "updated_parsed"))
    for src, field in candidates:
        value = src.get(field)
        if value:
            # feedparser normalises to a UTC struct_time; timegm reads it as UTC.
            return datetime.fromtimestamp(calendar.timegm(value), UTC)
    return now


def _body(entry: Any) -> tuple[str, list[str]]:
    """Text and links of the entry's richest body: full content, else the summary."""
    html = ""
    for content in entry.get("content") or []:
        html = content.get("value") or ""
        if html:
            break
    return html_to_text(html or entry.get("summary") or "")


def _lang(entry: Any, feed: Any) -> str:
    for content in entry.get("content") or []:
        if content.get("language"):
            return str(content["language"]).split("-")[0].lower()
    return str(feed.get("language") or "").split("-")[0].lower()


def _host(url: str) -> str:
    return urlsplit(url).hostname or "unknown"


def _links(first: str, more: list[str]) -> list[str]:
    out: list[str] = []
    for link in [first, *more]:
        if link and link.startswith(("http://", "https://")) and link not in out:
            out.append(link)
    return out


def mention_fields(feed_url: str, parsed: Any, entry: Any, now: datetime) -> dict[str, Any]:
    """The fields of a Mention for a news or blog entry."""
    feed = parsed.feed
    key = entry_key(entry) or ""
    text, links = _body(entry)
    title = (entry.get("title") or "").strip()
    link = entry.get("link") or ""
    site = _host(feed.get("link") or feed_url)
    byline = (entry.get("author") or "").strip()
    tags = [re.sub(r"\W+", "", t.get("term") or "") for t in entry.get("tags") or []]
    return {
        "event_id": event_id(feed_url, key),
        "platform": "rss",
        "occurred_at": _time(entry, feed, now),
        # The outlet is the speaker unless the entry names its writer (a blogger, a columnist).
        "author": {
            "id": f"{site}:{byline}" if byline else site,
            "handle": byline or site,
            "display_name": byline or (feed.get("title") or site),
        },
        "text": "\n\n".join(p for p in (title, text) if p)[:MAX_TEXT],
        "url": link,
        "lang": _lang(entry, feed),
        "links": _links(link, links),
        "hashtags": [t for t in tags if t],
    }


def _strip_fragment(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(fragment=""))


def thread_post_fields(feed_url: str, parsed: Any, entry: Any, now: datetime) -> dict[str, Any]:
    """The fields of a ThreadPost for an entry of a comments feed (WordPress and alike).

    The thread is the commented article: the comment's link without its ``#comment-N`` fragment.
    The parent comes from ``thr:in-reply-to`` (RFC 4685) when it points at another comment; a
    reply to the article itself (or an RSS comment feed, which carries no threading) has none.
    """
    feed = parsed.feed
    key = entry_key(entry) or ""
    link = entry.get("link") or ""
    reply = entry.get("thr_in-reply-to") or {}
    thread_url = _strip_fragment(link or str(reply.get("href") or "") or key)
    ref, href = str(reply.get("ref") or ""), str(reply.get("href") or "")
    to_article = (
        _strip_fragment(href) == thread_url
        and not urlsplit(href).fragment
        and not urlsplit(ref).fragment
    )
    parent = ref if ref and not to_article else None
    title_match = _COMMENT_TITLE.match((entry.get("title") or "").strip())
    feed_match = _COMMENTS_FEED_TITLE.match((feed.get("title") or "").strip())
    match = title_match or feed_match
    thread_title = match["title"] if match else ""
    name = (entry.get("author") or (title_match["author"] if title_match else "")).strip()
    name = name or "anonymous"
    text, links = _body(entry)
    return {
        "event_id": event_id(feed_url, key),
        "platform": "rss",
        "occurred_at": _time(entry, feed, now),
        "thread_id": "rss:" + thread_url,
        "post_id": key,
        "parent_id": parent,
        "thread_title": thread_title.strip(),
        "author": {"id": f"{_host(thread_url)}:{name}", "handle": name, "display_name": name},
        "text": text[:MAX_TEXT],
        "links": _links("", links),
        "url": link,
    }
