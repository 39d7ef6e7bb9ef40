"""A Discourse forum's public JSON API as the ``discourse`` connector reads it.

``/latest.json`` (topics by last activity), ``/t/{id}.json`` (a topic: its post ids and first
posts), ``/t/{id}/posts.json?post_ids[]=...`` (more posts of a topic) and ``/posts.json`` (the
forum's latest posts, newest first, paged with ``before``). A private forum takes an API key
and user (sent as ``Api-Key`` / ``Api-Username``).

Failure policy: the kit's HTTP helper's (429 and 5xx, and a non-JSON answer such as a
maintenance page, retriable, honouring ``Retry-After``; other 4xx fatal), except 403/404/410 on
one topic (deleted, made private), which is answered ``None``: the source skips that topic.
"""

from __future__ import annotations

import logging
from typing import Any

from pipeline.sources.http import TimeoutSession, fetch

SKIP_TOPIC = (403, 404, 410)
log = logging.getLogger("pipeline.sources.discourse")


class DiscourseClient:
    def __init__(
        self, base_url: str, timeout: float, api_key: str | None, api_username: str | None
    ) -> None:
        self.base_url = base_url
        headers = {"Accept": "application/json"}
        if api_key is not None and api_username is not None:
            headers |= {"Api-Key": api_key, "Api-Username": api_username}
        self.session = TimeoutSession(timeout, headers=headers)

    def close(self) -> None:
        self.session.close()

    def latest_topics(self) -> list[dict[str, Any]]:
        latest = self._get("/latest.json") or {}
        return list((latest.get("topic_list") or {}).get("topics") or [])

    def topic(self, topic_id: int) -> dict[str, Any] | None:
        """A topic with its ``post_stream``; None when it is gone (skip it)."""
        return self._get(f"/t/{topic_id}.json", topic=True)

    def topic_posts(self, topic_id: int, post_ids: list[int]) -> list[dict[str, Any]] | None:
        params = [("post_ids[]", i) for i in post_ids]
        more = self._get(f"/t/{topic_id}/posts.json", params, topic=True)
        return None if more is None else list((more.get("post_stream") or {}).get("posts") or [])

    def latest_posts(self, before: int | None) -> list[dict[str, Any]]:
        page = self._get("/posts.json", {"before": before} if before else None) or {}
        return list(page.get("latest_posts") or [])

    def _get(self, path: str, params: Any = None, *, topic: bool = False) -> Any:
        what = f"GET {path}"
        got = fetch(
            self.session, self.base_url + path, what,
            params=params, allow=SKIP_TOPIC if topic else (),
        )  # fmt: skip
        if got.status in SKIP_TOPIC:
            log.warning("%s: HTTP %d; skipping this topic", what, got.status)
            return None
        return got.json()
