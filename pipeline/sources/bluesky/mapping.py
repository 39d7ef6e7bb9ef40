"""Bluesky post views (``app.bsky.feed.defs#postView``, as ``searchPosts`` returns them) to
``Mention`` fields: a pure function, no I/O.

``event_id`` is ``bluesky:<at-uri>``; author id = DID; ``reply.parent`` -> ``reply_to``, an
embedded record (quote, also with media) -> ``reshare_of``; links from link facets and external
embeds; hashtags from tag facets and the record's ``tags``. Audiences come from the caller
(``getProfiles``), since search results carry no follower counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["UnmappablePost", "post_fields"]

POST = "app.bsky.feed.post"
QUOTE_EMBEDS = {"app.bsky.embed.record", "app.bsky.embed.recordWithMedia"}


class UnmappablePost(ValueError):
    """The post lacks what a mention needs; the message is the dead letter's reason."""


def _facet_values(record: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    links: list[str] = []
    tags: list[str] = []
    for facet in record.get("facets") or []:
        for feature in facet.get("features") or []:
            kind = feature.get("$type")
            if kind == "app.bsky.richtext.facet#link" and feature.get("uri"):
                links.append(feature["uri"])
            elif kind == "app.bsky.richtext.facet#tag" and feature.get("tag"):
                tags.append(feature["tag"])
    embed = record.get("embed") or {}
    media = embed.get("media") or {}
    for ext in (embed.get("external"), media.get("external")):
        if isinstance(ext, Mapping) and ext.get("uri"):
            links.append(ext["uri"])
    tags += [t for t in record.get("tags") or [] if isinstance(t, str)]
    return list(dict.fromkeys(links)), list(dict.fromkeys(tags))


def post_fields(post: Any, audiences: Mapping[str, int]) -> dict[str, Any]:
    """Keyword arguments for ``Mention`` from one ``app.bsky.feed.defs#postView`` (pure)."""
    if not isinstance(post, Mapping) or not str(post.get("uri", "")).startswith("at://"):
        raise UnmappablePost("not a post view with an at:// uri")
    uri = post["uri"]
    author, record = post.get("author"), post.get("record")
    if not isinstance(author, Mapping) or not author.get("did") or not author.get("handle"):
        raise UnmappablePost(f"{uri}: author without did or handle")
    if not isinstance(record, Mapping) or not isinstance(record.get("text"), str):
        raise UnmappablePost(f"{uri}: record without text")
    links, tags = _facet_values(record)
    embed = record.get("embed") or {}
    reshare_of = None
    if embed.get("$type") in QUOTE_EMBEDS:
        ref = embed.get("record") or {}
        quoted = (ref.get("record") or {}).get("uri") if "record" in ref else ref.get("uri")
        if isinstance(quoted, str) and f"/{POST}/" in quoted:
            reshare_of = f"bluesky:{quoted}"
    parent = ((record.get("reply") or {}).get("parent") or {}).get("uri")
    langs = record.get("langs") or []
    return {
        "event_id": f"bluesky:{uri}",
        "platform": "bluesky",
        "occurred_at": record.get("createdAt") or post.get("indexedAt"),
        "author": {
            "id": author["did"],
            "handle": author["handle"],
            "display_name": author.get("displayName") or "",
            "audience": audiences.get(author["did"], 0),
        },
        "text": record["text"],
        "url": f"https://bsky.app/profile/{author['handle']}/post/{uri.rsplit('/', 1)[-1]}",
        "lang": langs[0] if langs else "",
        "engagement": {
            "likes": post.get("likeCount") or 0,
            "reshares": post.get("repostCount") or 0,
            "replies": post.get("replyCount") or 0,
            "quotes": post.get("quoteCount") or 0,
        },
        "reshare_of": reshare_of,
        "reply_to": f"bluesky:{parent}" if parent else None,
        "links": links,
        "hashtags": tags,
    }
