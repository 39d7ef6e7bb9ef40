"""Pure mapping of Discourse posts (the public JSON API) to ``ThreadPost`` fields.

Ids: ``event_id`` = ``discourse:<host>:post:<post id>``, ``thread_id`` = ``discourse:<host>:<topic
id>``, ``post_id``/``parent_id`` = Discourse post ids as strings. Discourse threads by *post
number* (``reply_to_post_number``); a post that replies to no post in particular replies to the
topic, i.e. to its first post, which is the parent we give it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipeline.sources.html_text import html_to_text

MAX_TEXT = 100_000


def thread_id(host: str, topic_id: int) -> str:
    return f"discourse:{host}:{topic_id}"


def parent_post_id(post: dict[str, Any], numbers: dict[str, int]) -> str | None:
    """The parent's post id: the post replied to, else the topic's first post; None for #1.

    ``numbers`` maps post numbers (as strings, as in a JSON checkpoint) to post ids within the
    topic. A reply to a post we cannot resolve (deleted, or outside what we loaded) also falls
    back to the first post: the reply is at least part of the topic's conversation.
    """
    if post.get("post_number") == 1:
        return None
    target = post.get("reply_to_post_number")
    parent = numbers.get(str(target)) if target else None
    parent = parent or numbers.get("1")
    return str(parent) if parent else None


def post_fields(
    base_url: str,
    host: str,
    topic: dict[str, Any],
    post: dict[str, Any],
    numbers: dict[str, int],
) -> dict[str, Any]:
    """The fields of a ThreadPost for ``post`` of ``topic`` (``id``, ``title``, ``slug``)."""
    topic_id = int(topic.get("id") or post["topic_id"])
    slug = topic.get("slug") or post.get("topic_slug") or "topic"
    text, links = html_to_text(post.get("cooked") or "")
    username = str(post.get("username") or "")
    user_id = post.get("user_id")
    return {
        "event_id": f"discourse:{host}:post:{post['id']}",
        "platform": "discourse",
        "occurred_at": datetime.fromisoformat(str(post["created_at"]).replace("Z", "+00:00")),
        "thread_id": thread_id(host, topic_id),
        "post_id": str(post["id"]),
        "parent_id": parent_post_id(post, numbers),
        "thread_title": str(topic.get("title") or post.get("topic_title") or ""),
        "author": {
            "id": f"{host}:{user_id if user_id is not None else username}",
            "handle": username,
            "display_name": str(post.get("name") or post.get("display_username") or ""),
        },
        "text": text[:MAX_TEXT],
        "links": links,
        "url": f"{base_url}/t/{slug}/{topic_id}/{post.get('post_number', 1)}",
    }
