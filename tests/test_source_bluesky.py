"""The ``bluesky`` connector: post mapping, cursor paging, profile batching, checkpoint, failures.

HTTP is replayed with ``responses`` from fixtures written from the Bluesky API reference
(``tests/fixtures/sources/bluesky``; no recorded Bluesky traffic exists for this project). A
request to a URL no test registered fails the test, so nothing here reaches the network.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses

from pipeline.events import DeadLetter, Mention
from pipeline.settings import load_settings
from pipeline.sources import MemoryEmitter, RetriableError, RetryPolicy, Runner, RunOptions
from pipeline.sources.base import SourceContext
from pipeline.sources.bluesky.mapping import post_fields
from pipeline.sources.bluesky.source import BlueskySource
from pipeline.sources.testing import SourceTestSuite
from tests.netguard import recorded_api

FIX = Path(__file__).parent / "fixtures" / "sources" / "bluesky"
XRPC = "https://public.api.bsky.app/xrpc"
SEARCH = f"{XRPC}/app.bsky.feed.searchPosts"
PROFILES = f"{XRPC}/app.bsky.actor.getProfiles"
ORIG = "at://did:plc:torresaaaaaaaaaaaaaaaaaa/app.bsky.feed.post/3mbxhijklmnop"


def fixture(name: str) -> Any:
    return json.loads((FIX / name).read_text("utf-8"))


@pytest.fixture(autouse=True)
def _isolated(isolated_settings: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(
        BlueskySource, "retry_policy", RetryPolicy(initial=0.01, maximum=0.05, attempts=3)
    )
    yield


@pytest.fixture(autouse=True)
def api() -> Iterator[responses.RequestsMock]:
    with recorded_api() as mock:
        yield mock


def search_answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
    q = parse_qs(urlparse(request.url or "").query)
    assert q["sort"] == ["latest"]
    if q.get("cursor") == ["12"]:
        return 200, {}, json.dumps(fixture("search_page2.json"))
    if q.get("since"):
        return 200, {}, json.dumps(fixture("search_newer.json"))
    return 200, {}, json.dumps(fixture("search_page1.json"))


def profiles_answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
    actors = parse_qs(urlparse(request.url or "").query)["actors"]
    assert len(actors) <= 25
    found = [p for p in fixture("profiles.json")["profiles"] if p["did"] in actors]
    return 200, {}, json.dumps({"profiles": found})


def serve(api: responses.RequestsMock) -> None:
    api.add_callback(responses.GET, SEARCH, callback=search_answer)
    api.add_callback(responses.GET, PROFILES, callback=profiles_answer)


@pytest.fixture
def bsky(api: responses.RequestsMock) -> responses.RequestsMock:
    serve(api)
    return api


def run(tmp_path: Path, **opts: Any) -> tuple[int, list[Any], Runner]:
    cfg = BlueskySource.Config.load("bluesky", **opts)
    em = MemoryEmitter()
    settings = load_settings(data_dir=tmp_path)
    runner = Runner(BlueskySource, cfg, settings, RunOptions(once=True), emitter=em)
    return runner.run(), em.records, runner


@pytest.mark.usefixtures("bsky")
class TestBlueskyStandard(SourceTestSuite):
    source_cls = BlueskySource
    options: ClassVar[dict[str, Any]] = {"query": ["riverline"]}


def test_maps_post_quote_reply_and_embeds() -> None:
    posts = fixture("search_page1.json")["posts"]
    audiences = {p["did"]: p["followersCount"] for p in fixture("profiles.json")["profiles"]}
    by_uri = {
        p["uri"]: Mention(**post_fields(p, audiences)) for p in posts if "text" in p["record"]
    }
    post = by_uri[ORIG]
    assert post.event_id == f"bluesky:{ORIG}" and post.platform == "bluesky"
    assert post.author.id == "did:plc:torresaaaaaaaaaaaaaaaaaa"
    assert post.author.handle == "mayortorres.bsky.social" and post.author.audience == 3120
    assert post.author.display_name == "Mayor Alicia Torres"
    assert post.links == ["https://riverline.example.org/plan"]  # the facet's full URI
    assert post.hashtags == ["fundtheriverline"]
    assert post.engagement.model_dump() == {"likes": 120, "reshares": 30, "replies": 8, "quotes": 4}
    assert post.url == "https://bsky.app/profile/mayortorres.bsky.social/post/3mbxhijklmnop"
    assert post.occurred_at == datetime(2026, 11, 27, 14, 0, tzinfo=UTC) and post.lang == "en"

    by_handle = {m.author.handle: m for m in by_uri.values()}
    quote = by_handle["citydesk.news.example"]
    assert quote.reshare_of == f"bluesky:{ORIG}" and quote.author.audience == 41200
    reply = next(m for m in by_uri.values() if m.reply_to)
    assert reply.reply_to == f"bluesky:{ORIG}" and reply.reshare_of is None
    assert reply.hashtags == ["kimforsenate"] and reply.text.endswith("🚌 #KimForSenate")
    with_media = next(m for m in by_uri.values() if m.text == "Packed room for this one")
    assert with_media.reshare_of == f"bluesky:{ORIG}"
    assert with_media.links == ["https://news.example/photo-story"]
    external = next(m for m in by_uri.values() if "vivienda" in m.text)
    assert external.links == ["https://blog.example/kim-housing"]
    assert external.hashtags == ["homesforall"] and external.lang == "es"
    assert external.author.display_name == ""


def test_pages_profiles_and_checkpoint(tmp_path: Path, bsky: responses.RequestsMock) -> None:
    code, records, _ = run(tmp_path, query=["riverline"])
    assert code == 0
    mentions = [r for r in records if isinstance(r, Mention)]
    dead = [r for r in records if isinstance(r, DeadLetter)]
    assert len(mentions) == 21 and len(dead) == 1
    assert dead[0].reason.endswith("record without text")
    assert all(m.author.audience > 0 for m in mentions)
    # Profiles asked once per author (cached across the two pages).
    profile_calls = [c for c in bsky.calls if (c.request.url or "").startswith(PROFILES)]
    asked = [
        a for c in profile_calls for a in parse_qs(urlparse(c.request.url or "").query)["actors"]
    ]
    assert len(asked) == len(set(asked)) == 5
    saved = json.loads((tmp_path / "checkpoints" / "bluesky.json").read_text())
    state = saved["queries"]["riverline"]
    assert state["since"] == "2026-11-27T14:21:00.100Z"  # newest indexedAt (the broken post's)

    # Restart: asks since the checkpoint minus the overlap, skips the boundary post it had.
    code, records, _ = run(tmp_path, query=["riverline"])
    newer = fixture("search_newer.json")["posts"][0]["uri"]
    assert code == 0 and [getattr(r, "event_id", None) for r in records] == [f"bluesky:{newer}"]
    last_search = [c for c in bsky.calls if (c.request.url or "").startswith(SEARCH)][-1]
    assert parse_qs(urlparse(last_search.request.url or "").query)["since"] == [
        "2026-11-27T14:16:00.100Z"
    ]


def test_profile_batches_of_25(tmp_path: Path, api: responses.RequestsMock) -> None:
    api.add_callback(responses.GET, PROFILES, callback=profiles_answer)
    cfg = BlueskySource.Config.load("bluesky", query=["x"])
    ctx = SourceContext(settings=load_settings(data_dir=tmp_path), once=True)
    source = BlueskySource(cfg, ctx)  # type: ignore[arg-type]
    source.setup()
    posts = [{"author": {"did": f"did:plc:{i:024d}"}} for i in range(60)]
    source._audiences(posts)
    sizes = [len(parse_qs(urlparse(c.request.url or "").query)["actors"]) for c in api.calls]
    assert sizes == [25, 25, 10]
    source._audiences(posts)  # cached: no new calls
    assert len(api.calls) == 3


def test_429_waits_until_ratelimit_reset(tmp_path: Path, api: responses.RequestsMock) -> None:
    reset = int(time.time()) + 60
    api.add(responses.GET, SEARCH, status=429, json=fixture("error_429.json"),
            headers={"RateLimit-Limit": "3000", "RateLimit-Remaining": "0",
                     "RateLimit-Reset": str(reset)})  # fmt: skip
    cfg = BlueskySource.Config.load("bluesky", query=["x"])
    source = BlueskySource(cfg, SourceContext(settings=load_settings(data_dir=tmp_path)))  # type: ignore[arg-type]
    source.setup()
    with pytest.raises(RetriableError) as info:
        list(source.poll())
    assert info.value.retry_after is not None and 50 <= info.value.retry_after <= 60


def test_502_retried_and_400_fatal(tmp_path: Path, api: responses.RequestsMock) -> None:
    api.add(responses.GET, SEARCH, status=502, json=fixture("error_502.json"))
    serve(api)
    code, records, runner = run(tmp_path, query=["riverline"])
    assert code == 0 and runner.stats.retries == 1 and len(records) == 22
    api.reset()
    api.add(responses.GET, SEARCH, status=400, json=fixture("error_400.json"))
    code, _, _ = run(tmp_path / "other", query=["riverline"])
    assert code == 1


def test_default_queries_quote_campaign_phrases(tmp_path: Path) -> None:
    source = BlueskySource(
        BlueskySource.Config.load("bluesky"),  # type: ignore[arg-type]
        SourceContext(settings=load_settings(data_dir=tmp_path)),
    )
    source.setup()
    assert '"Jordan Kim"' in source.queries and "#KimForSenate" in source.queries
