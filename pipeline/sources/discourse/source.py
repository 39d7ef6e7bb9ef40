"""``discourse``: a Discourse forum's public JSON API as thread activity (``buzz.threads``).

    buzz source run discourse --base-url https://forum.example.org [--mode posts]

``--mode topics`` (default) reads ``/latest.json``; for every topic bumped since we last saw it,
``/t/{id}.json`` gives its post ids (``post_stream.stream``) and the first posts, and
``/t/{id}/posts.json?post_ids[]=...`` the rest of the new ones, in chunks. ``--mode posts`` reads
the forum-wide ``/posts.json`` (newest first), paging back with ``?before=`` to the last post seen.
A private forum takes ``--api-key`` and ``--api-username`` (sent as ``Api-Key``/``Api-Username``).

Checkpoint: per topic its ``bumped_at``, the highest post id yielded and a bounded map of post
numbers to ids (to resolve ``reply_to_post_number``); in posts mode also the forum-wide highest
post id. Posts are yielded in id order, the cursor advancing with each, so an interrupted poll
resumes at the next post.

Failure policy:

- 429 and 5xx (and a non-JSON answer, e.g. a maintenance page): retriable, honouring
  ``Retry-After``; the runner backs off and polls again from the checkpoint.
- 403/404/410 on one topic (deleted, made private): logged and skipped until it is bumped again.
- other 4xx (bad key, wrong URL) on the forum itself: fatal.
- a post that cannot become an event (missing id, bad date): a dead letter, the others go on.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

import orjson
from pydantic import Field, SecretStr, field_validator, model_validator

from pipeline.events import DeadLetter, ThreadPost
from pipeline.sources.base import PollingConfig, PollingSource, SourceConfig
from pipeline.sources.discourse.client import DiscourseClient
from pipeline.sources.discourse.mapping import post_fields
from pipeline.sources.emitter import Record

MAX_TOPICS_KEPT = 1000  # checkpoint bound: topics not bumped among the last 1000 are forgotten
MAX_NUMBERS_KEPT = 500  # per topic: post number -> id of the latest posts (and always #1)


class DiscourseConfig(PollingConfig):
    base_url: str = Field(description="Forum root, e.g. https://forum.example.org")
    mode: Literal["topics", "posts"] = Field("topics", description="What to poll")
    api_key: SecretStr | None = Field(None, description="For private forums (Api-Key)")
    api_username: str | None = Field(None, description="User the API key acts as")
    poll_interval: float = Field(120.0, gt=0, description="Seconds between two polls")
    max_topics: int = Field(30, ge=1, le=300, description="Latest topics looked at per poll")
    chunk: int = Field(20, ge=1, le=200, description="Post ids per /t/{id}/posts.json request")
    max_pages: int = Field(10, ge=1, description="Pages of /posts.json read back per poll")
    timeout: float = Field(20.0, gt=0, le=300, description="Seconds per HTTP request")

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        parts = urlsplit(v.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected the forum's http(s) URL, got {v!r}")
        return v.strip().rstrip("/")

    @model_validator(mode="after")
    def _key_pair(self) -> DiscourseConfig:
        if (self.api_key is None) != (self.api_username is None):
            raise ValueError("--api-key and --api-username go together")
        return self


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


class DiscourseSource(PollingSource[DiscourseConfig]):
    name: ClassVar[str] = "discourse"
    description: ClassVar[str] = "Discourse forum topics and posts (public JSON API) as threads"
    Config: ClassVar[type[SourceConfig]] = DiscourseConfig

    def setup(self) -> None:
        cfg = self.config
        self.host = urlsplit(cfg.base_url).hostname or "forum"
        key = cfg.api_key.get_secret_value() if cfg.api_key is not None else None
        self.client = DiscourseClient(cfg.base_url, cfg.timeout, key, cfg.api_username)

    def teardown(self) -> None:
        self.client.close()

    # -- state ------------------------------------------------------------------------------
    def _topic_state(self, topic_id: int) -> dict[str, Any]:
        topics: dict[str, Any] = self.checkpoint.setdefault("topics", {})
        return topics.setdefault(str(topic_id), {})

    def _remember_numbers(self, state: dict[str, Any], posts: list[dict[str, Any]]) -> None:
        numbers: dict[str, int] = state.setdefault("numbers", {})
        for post in posts:
            if isinstance(post.get("post_number"), int) and isinstance(post.get("id"), int):
                numbers[str(post["post_number"])] = post["id"]
        if len(numbers) > MAX_NUMBERS_KEPT:
            keep = sorted(numbers, key=int)[-MAX_NUMBERS_KEPT:]
            state["numbers"] = {k: numbers[k] for k in {"1", *keep} if k in numbers}

    def _prune(self) -> None:
        topics: dict[str, Any] = self.checkpoint.get("topics", {})
        if len(topics) > MAX_TOPICS_KEPT:
            recent = sorted(topics, key=lambda t: str(topics[t].get("bumped_at", "")))
            for old in recent[: len(topics) - MAX_TOPICS_KEPT]:
                del topics[old]

    def _emit(self, topic: dict[str, Any], post: dict[str, Any]) -> ThreadPost | DeadLetter:
        raw = orjson.dumps(post)
        state = self._topic_state(int(topic.get("id") or post.get("topic_id") or 0))
        try:
            fields = post_fields(self.config.base_url, self.host, topic, post, state["numbers"])
        except (KeyError, TypeError, ValueError) as exc:
            return self.dead_letter(raw, f"post not usable: {type(exc).__name__}: {exc}")
        return self.build(ThreadPost, raw, **fields)

    # -- polling ----------------------------------------------------------------------------
    def poll(self) -> Iterator[Record]:
        if self.config.mode == "posts":
            yield from self._poll_posts()
        else:
            yield from self._poll_topics()
        self._prune()

    def _poll_topics(self) -> Iterator[Record]:
        topics = self.client.latest_topics()
        fresh = []
        for topic in topics[: self.config.max_topics]:
            state = self._topic_state(topic["id"])
            seen = state.get("bumped_at")
            if seen is None or _time(topic["bumped_at"]) > _time(seen):
                fresh.append(topic)
        # Oldest bump first, so topics go out in the order the conversation happened.
        for topic in sorted(fresh, key=lambda t: _time(t["bumped_at"])):
            if self.ctx.stopping():
                return
            yield from self._topic_posts(topic)
            self._topic_state(topic["id"])["bumped_at"] = topic["bumped_at"]

    def _topic_posts(self, summary: dict[str, Any]) -> Iterator[Record]:
        topic_id = int(summary["id"])
        data = self.client.topic(topic_id)
        if data is None:
            return
        topic = {"id": topic_id, "title": data.get("title"), "slug": data.get("slug")}
        stream_data = data.get("post_stream") or {}
        posts = {p["id"]: p for p in stream_data.get("posts") or [] if "id" in p}
        state = self._topic_state(topic_id)
        last = int(state.get("last_post_id", 0))
        new_ids = sorted(i for i in stream_data.get("stream") or list(posts) if i > last)
        missing = [i for i in new_ids if i not in posts]
        for start in range(0, len(missing), self.config.chunk):
            chunk = missing[start : start + self.config.chunk]
            for more in self.client.topic_posts(topic_id, chunk) or []:
                posts[more.get("id")] = more
        self._remember_numbers(state, list(posts.values()))
        for post_id in new_ids:
            post = posts.get(post_id)
            if post is None:
                continue  # deleted between the two requests
            state["last_post_id"] = post_id  # advanced as it is yielded (see base.py on why)
            yield self._emit(topic, post)

    def _poll_posts(self) -> Iterator[Record]:
        last = int(self.checkpoint.get("last_post_id", 0))
        batch: dict[int, dict[str, Any]] = {}
        before: int | None = None
        for _ in range(self.config.max_pages):
            page = self.client.latest_posts(before)
            posts = [p for p in page if isinstance(p.get("id"), int)]
            batch.update({p["id"]: p for p in posts if p["id"] > last})
            oldest = min((p["id"] for p in posts), default=0)
            # First run: one page, not the whole forum's history. Later: page back to `last`.
            if not last or not posts or oldest <= last + 1 or before == oldest - 1:
                break
            before = oldest - 1
        else:
            self.log.warning("more than %d pages of new posts; some skipped", self.config.max_pages)
        for post in batch.values():
            self._remember_numbers(self._topic_state(post.get("topic_id", 0)), [post])
        for post_id in sorted(batch):
            post = batch[post_id]
            topic_id = post.get("topic_id", 0)
            state = self._topic_state(topic_id)
            if post.get("post_number") != 1 and "1" not in state.get("numbers", {}):
                # The topic's first post (the parent of replies to the topic) is not known yet.
                data = self.client.topic(topic_id) or {}
                self._remember_numbers(state, (data.get("post_stream") or {}).get("posts") or [])
            topic = {
                "id": topic_id,
                "title": post.get("topic_title"),
                "slug": post.get("topic_slug"),
            }
            self.checkpoint["last_post_id"] = post_id
            yield self._emit(topic, post)
