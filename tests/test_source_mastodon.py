"""The ``mastodon`` connector: status mapping, min_id paging with Link headers, failure policy.

HTTP is replayed with ``responses``: Mastodon.py's recorded cassettes from
``../shared/fixtures/mastodon`` (when present) and fixtures written from Mastodon's API
documentation (``tests/fixtures/sources/mastodon``). A request to a URL no test registered fails
the test, so nothing here reaches the network.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest
import responses
import yaml

from pipeline.events import DeadLetter, Mention
from pipeline.settings import ConfigError, load_settings
from pipeline.sources import (
    FatalError,
    MemoryEmitter,
    RetriableError,
    RetryPolicy,
    Runner,
    RunOptions,
)
from pipeline.sources.base import SourceContext
from pipeline.sources.mastodon.mapping import status_fields
from pipeline.sources.mastodon.source import MastodonSource
from pipeline.sources.testing import SourceTestSuite
from tests.conftest import SHARED_FIXTURES
from tests.netguard import recorded_api

FIX = Path(__file__).parent / "fixtures" / "sources" / "mastodon"
RECORDED = SHARED_FIXTURES / "mastodon"
BASE = "https://civic.social"
TAGS = {
    "KimForSenate": "tag_kimforsenate.json",
    "Reyes2026": "tag_reyes2026.json",
    "FundTheRiverline": "tag_fundtheriverline.json",
    "HomesForAll": "tag_homesforall.json",
}
ORIG = "113500000000000010"
TOKEN = "mastodon-test-token-not-real"


def fixture(name: str) -> Any:
    return json.loads((FIX / name).read_text("utf-8"))


@pytest.fixture(autouse=True)
def _isolated(isolated_settings: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(
        MastodonSource, "retry_policy", RetryPolicy(initial=0.01, maximum=0.05, attempts=3)
    )
    yield


@pytest.fixture(autouse=True)
def api() -> Iterator[responses.RequestsMock]:
    with recorded_api() as mock:
        yield mock


def tag_url(tag: str) -> str:
    return f"{BASE}/api/v1/timelines/tag/{tag}"


def serve_tags(api: responses.RequestsMock) -> None:
    for tag, name in TAGS.items():
        api.add(responses.GET, tag_url(tag), json=fixture(name))


@pytest.fixture
def tags_api(api: responses.RequestsMock) -> responses.RequestsMock:
    serve_tags(api)
    return api


def run(tmp_path: Path, **opts: Any) -> tuple[int, list[Any], Runner]:
    cfg = MastodonSource.Config.load("mastodon", **({"instance_url": BASE} | opts))
    em = MemoryEmitter()
    settings = load_settings(data_dir=tmp_path)
    runner = Runner(MastodonSource, cfg, settings, RunOptions(once=True), emitter=em)
    return runner.run(), em.records, runner


def make_source(tmp_path: Path, checkpoint: dict[str, Any], **opts: Any) -> MastodonSource:
    cfg = MastodonSource.Config.load("mastodon", **({"instance_url": BASE} | opts))
    ctx = SourceContext(settings=load_settings(data_dir=tmp_path), checkpoint=checkpoint, once=True)
    source = MastodonSource(cfg, ctx)  # type: ignore[arg-type]
    source.setup()
    return source


@pytest.mark.usefixtures("tags_api")
class TestMastodonStandard(SourceTestSuite):
    source_cls = MastodonSource
    options: ClassVar[dict[str, Any]] = {"instance_url": BASE}


# -- mapping ---------------------------------------------------------------------------------
def test_maps_post_reblog_reply_and_quote() -> None:
    by_id = {s["id"]: s for s in fixture("tag_kimforsenate.json")}
    post = Mention(**status_fields(by_id[ORIG], "civic.social"))
    assert post.event_id == f"mastodon:civic.social:{ORIG}" and post.platform == "mastodon"
    assert post.author.handle == "torres@civic.social" and post.author.audience == 1840
    assert post.author.id == "https://civic.social/users/torres"
    assert post.text == (
        # The link's hidden spans (Mastodon's "invisible" https://) are part of the text.
        "Riverline phase 2 is funded! Read the plan: https://riverline.example.org/plan\n\n"
        "Thanks @jordankim & everyone who showed up. #KimForSenate #FundTheRiverline"
    )
    assert post.links == ["https://riverline.example.org/plan"]  # no tag or mention links
    assert post.hashtags == ["kimforsenate", "fundtheriverline"]
    assert post.engagement.model_dump() == {"likes": 31, "reshares": 12, "replies": 4, "quotes": 1}
    assert post.url == f"https://civic.social/@torres/{ORIG}" and post.lang == "en"

    boost = Mention(**status_fields(by_id["113500000000000009"], "civic.social"))
    assert boost.reshare_of == f"mastodon:civic.social:{ORIG}"
    assert boost.author.handle == "neighbor@town.example" and boost.author.audience == 96
    assert boost.text == post.text and boost.links == post.links

    reply = Mention(**status_fields(by_id["113500000000000008"], "civic.social"))
    assert reply.reply_to == f"mastodon:civic.social:{ORIG}" and reply.reshare_of is None
    assert reply.text == "@torres and the bus lanes budget? #KimForSenate" and reply.links == []

    quote = Mention(**status_fields(by_id["113500000000000007"], "civic.social"))
    assert quote.reshare_of == f"mastodon:civic.social:{ORIG}"
    assert quote.text.startswith("CW: local politics\nFact check:")
    assert quote.links == ["https://news.example/riverline-grant"]
    assert quote.author.audience == 22050

    # A deleted status comes back with its plain source as `text` and no HTML `content`.
    deleted = {**by_id[ORIG], "content": "", "text": "  Proud to stand with #KimForSenate  "}
    gone = Mention(**status_fields(deleted, "civic.social"))
    assert gone.text == "Proud to stand with #KimForSenate"


def test_one_poll_reads_every_tag_once(tmp_path: Path, tags_api: responses.RequestsMock) -> None:
    code, records, _ = run(tmp_path)
    assert code == 0
    mentions = [r for r in records if isinstance(r, Mention)]
    dead = [r for r in records if isinstance(r, DeadLetter)]
    assert len(mentions) == 23  # the post in two tags is emitted once
    assert len({m.event_id for m in mentions}) == 23
    assert [d.reason for d in dead] == [
        "unmappable status: status 113500000000000006 has no account"
    ]
    saved = json.loads((tmp_path / "checkpoints" / "mastodon.json").read_text())
    assert saved["tags"]["KimForSenate"] == ORIG
    assert set(saved["tags"]) == set(TAGS)
    first = parse_qs(urlparse(tags_api.calls[0].request.url or "").query)
    assert first == {"limit": ["40"]}  # first sight: newest page, no min_id


def test_resume_follows_min_id_and_link_prev(tmp_path: Path, api: responses.RequestsMock) -> None:
    prev = f"{tag_url('KimForSenate')}?min_id=113500000000000012"
    api.add(
        responses.GET,
        tag_url("KimForSenate"),
        json=fixture("tag_kimforsenate_newer.json"),
        headers={"Link": f'<{tag_url("KimForSenate")}?max_id=113500000000000011>; rel="next", '
                 f'<{prev}>; rel="prev"'},
        match=[responses.matchers.query_param_matcher({"limit": "40", "min_id": ORIG})],
    )  # fmt: skip
    api.add(
        responses.GET,
        prev,
        json=[],
        match=[responses.matchers.query_string_matcher("min_id=113500000000000012")],
    )
    source = make_source(tmp_path, {"tags": {"KimForSenate": ORIG}}, hashtag=["KimForSenate"])
    records = list(source.poll())
    # Oldest first, so a checkpoint saved halfway never skips anything.
    assert [getattr(r, "event_id", None) for r in records] == [
        "mastodon:civic.social:113500000000000011",
        "mastodon:civic.social:113500000000000012",
    ]
    assert source.checkpoint == {"tags": {"KimForSenate": "113500000000000012"}}
    assert len(api.calls) == 2 and api.calls[1].request.url == prev


def test_search_with_token(tmp_path: Path, api: responses.RequestsMock) -> None:
    api.add(responses.GET, f"{BASE}/api/v2/search", json=fixture("search_statuses.json"))
    api.add(responses.GET, tag_url("HomesForAll"), json=[])
    code, records, _ = run(
        tmp_path, access_token=TOKEN, search_terms=["Jordan Kim"], hashtag=["HomesForAll"]
    )
    assert code == 0 and [r.event_id for r in records] == [
        "mastodon:civic.social:113500000000000050"
    ]
    request = api.calls[-1].request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert parse_qs(urlparse(request.url or "").query) == {
        "q": ["Jordan Kim"], "type": ["statuses"], "resolve": ["false"], "limit": ["40"]
    }  # fmt: skip


def test_search_terms_need_a_token(tmp_path: Path) -> None:
    with pytest.raises(FatalError, match="--access-token"):
        make_source(tmp_path, {}, search_terms=["rent"])


def test_instance_url_is_validated() -> None:
    with pytest.raises(ConfigError, match="--instance-url"):
        MastodonSource.Config.load("mastodon", instance_url="civic.social")


# -- failure policy --------------------------------------------------------------------------
def test_429_waits_until_the_iso_reset_time(tmp_path: Path, api: responses.RequestsMock) -> None:
    reset = (datetime.now(UTC) + timedelta(seconds=90)).isoformat().replace("+00:00", "Z")
    api.add(responses.GET, tag_url("HomesForAll"), status=429, json=fixture("error_429.json"),
            headers={"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
                     "X-RateLimit-Reset": reset})  # fmt: skip
    with pytest.raises(RetriableError) as info:
        list(make_source(tmp_path, {}, hashtag=["HomesForAll"]).poll())
    assert info.value.retry_after is not None and 80 <= info.value.retry_after <= 90


def test_503_is_retried(tmp_path: Path, api: responses.RequestsMock) -> None:
    api.add(responses.GET, tag_url("HomesForAll"), status=503, json=fixture("error_503.json"))
    api.add(responses.GET, tag_url("HomesForAll"), json=fixture("tag_homesforall.json"))
    code, records, runner = run(tmp_path, hashtag=["HomesForAll"])
    assert code == 0 and runner.stats.retries == 1 and len(records) == 5


def test_401_is_fatal_and_names_the_setting(
    tmp_path: Path, api: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    api.add(responses.GET, f"{BASE}/api/v2/search", status=401, json=fixture("error_401.json"))
    api.add(responses.GET, tag_url("x"), json=[])
    caplog.set_level(logging.INFO)
    code, _, _ = run(tmp_path, access_token=TOKEN, search_terms=["rent"], hashtag=["x"])
    assert code == 1
    assert "check BUZZ_SOURCE_MASTODON_ACCESS_TOKEN" in caplog.text and TOKEN not in caplog.text


# -- recorded responses (Mastodon.py's cassettes, a local test server) --------------------------
def serve_recorded(
    api: responses.RequestsMock, cassette: str, path: str, query: str = ""
) -> dict[str, Any]:
    file = RECORDED / f"{cassette}.yaml"
    if not file.exists():
        pytest.skip(f"recorded Mastodon responses not found at {RECORDED} (beside the repo)")
    for interaction in yaml.safe_load(file.read_text("utf-8"))["interactions"]:
        request, response = interaction["request"], interaction["response"]
        uri = urlparse(request["uri"])
        if request["method"] == "GET" and uri.path == path and query in uri.query:
            headers = {k: v[0] for k, v in response["headers"].items()
                       if k.lower() in ("link", "x-ratelimit-reset", "content-type")}  # fmt: skip
            api.add(responses.GET, "http://localhost:3000" + path, body=response["body"]["string"],
                    headers=headers)  # fmt: skip
            return headers
    raise AssertionError(f"{path} not in {cassette}")


def test_recorded_hashtag_timeline(tmp_path: Path, api: responses.RequestsMock) -> None:
    headers = serve_recorded(api, "test_hashtag_tl", "/api/v1/timelines/tag/hoot")
    assert 'rel="prev"' in headers["link"]
    code, records, _ = run(tmp_path, instance_url="http://localhost:3000/", hashtag=["#hoot"])
    assert code == 0 and len(records) == 1
    m = records[0]
    assert isinstance(m, Mention)
    assert m.event_id == "mastodon:localhost:3000:117020593741189701"
    assert m.author.handle == "mastodonpy_test_2@localhost:3000" and m.author.audience == 0
    assert m.text == "#hoot (hashtag toot)" and m.hashtags == ["hoot"] and m.links == []
    assert m.lang == "ja" and m.reshare_of is None and m.reply_to is None
    assert m.occurred_at == datetime(2026, 8, 1, 13, 55, 55, 867000, tzinfo=UTC)
    assert m.url == "http://localhost:3000/@mastodonpy_test_2/117020593741189701"
    saved = json.loads((tmp_path / "checkpoints" / "mastodon.json").read_text())
    assert saved == {"tags": {"hoot": "117020593741189701"}}


def test_recorded_empty_search(tmp_path: Path, api: responses.RequestsMock) -> None:
    serve_recorded(api, "test_search", "/api/v2/search", "type=statuses")
    serve_recorded(api, "test_hashtag_tl", "/api/v1/timelines/tag/hoot")
    code, records, _ = run(
        tmp_path,
        instance_url="http://localhost:3000",
        access_token=TOKEN,
        search_terms=["mastodonpy_test"],
        hashtag=["hoot"],
    )
    assert code == 0 and [r.event_id for r in records] == [
        "mastodon:localhost:3000:117020593741189701"
    ]
    saved = json.loads((tmp_path / "checkpoints" / "mastodon.json").read_text())
    assert saved["search"] == {}  # nothing found, nothing to resume from
