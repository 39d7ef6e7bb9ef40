"""Mastodon statuses (``GET /api/v1/timelines/tag/:hashtag``, ``/api/v2/search``) to ``Mention``
fields: a pure function, no I/O.

Ids are per instance, so ``event_id`` is ``mastodon:<instance host>:<status id>``, and reblogs,
replies and quotes point at ids of the same instance. HTML ``content`` becomes text (else the
plain ``text`` source, all a deleted status comes back with); hashtag and mention links are
dropped from ``links`` (they are in ``hashtags`` and the text already). A reblog's text and tags
are the original's; a content warning comes first as ``CW: ...``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.sources.html_text import html_to_text

__all__ = ["UnmappableStatus", "status_fields"]


class UnmappableStatus(ValueError):
    """The status lacks what a mention needs; the message is the dead letter's reason."""


def status_fields(status: Any, host: str) -> dict[str, Any]:
    """Keyword arguments for ``Mention`` from one Mastodon status (pure; raises on bad input)."""
    if not isinstance(status, Mapping) or not status.get("id"):
        raise UnmappableStatus("not a status object with an id")
    sid = str(status["id"])
    account = status.get("account")
    if not isinstance(account, Mapping) or not account.get("acct"):
        raise UnmappableStatus(f"status {sid} has no account")
    reblog = status.get("reblog")
    shown = reblog if isinstance(reblog, Mapping) else status  # a reblog's text is the original's
    text, links = html_to_text(str(shown.get("content") or ""))
    if not text and isinstance(shown.get("text"), str):
        text = shown["text"].strip()  # the plain source, which a deleted status comes back with
    spoiler = str(shown.get("spoiler_text") or "").strip()
    if spoiler:
        text = f"CW: {spoiler}\n{text}" if text else f"CW: {spoiler}"
    skip = {t.get("url") for t in shown.get("tags") or []}
    skip |= {m.get("url") for m in shown.get("mentions") or []}
    links = [link for link in links if link not in skip]
    acct = str(account["acct"])
    handle = acct if "@" in acct else f"{acct}@{host}"  # local accounts: add the instance

    reshare_of = None
    if isinstance(reblog, Mapping) and reblog.get("id"):
        reshare_of = f"mastodon:{host}:{reblog['id']}"
    else:
        # Mastodon 4.5+ quotes: {"state": "accepted", "quoted_status": {...}}
        quoted = (status.get("quote") or {}).get("quoted_status") or {}
        if quoted.get("id"):
            reshare_of = f"mastodon:{host}:{quoted['id']}"
    reply = status.get("in_reply_to_id")
    return {
        "event_id": f"mastodon:{host}:{sid}",
        "platform": "mastodon",
        "occurred_at": status.get("created_at"),
        "author": {
            "id": account.get("uri") or account.get("url") or f"{host}:{account.get('id')}",
            "handle": handle,
            "display_name": account.get("display_name") or "",
            "audience": account.get("followers_count") or 0,
        },
        "text": text,
        "url": status.get("url") or status.get("uri") or "",
        "lang": status.get("language") or "",
        "engagement": {
            "likes": status.get("favourites_count") or 0,
            "reshares": status.get("reblogs_count") or 0,
            "replies": status.get("replies_count") or 0,
            "quotes": status.get("quotes_count") or 0,
        },
        "reshare_of": reshare_of,
        "reply_to": f"mastodon:{host}:{reply}" if reply else None,
        "links": links,
        "hashtags": [t["name"] for t in shown.get("tags") or [] if t.get("name")],
    }
