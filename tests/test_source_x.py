"""The ``x`` connector: rules, mapping, search with since_id, the stream, and the failure policy.

HTTP is replayed with ``responses``: recorded tweepy cassettes from ``../shared/fixtures/x`` (when
present) and fixtures written from X's API documentation (``tests/fixtures/sources/x``). Any
request to a URL no test registered fails the test, so nothing here reaches the network.
"""

from __future__ import annotations

import gzip
import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses
import yaml

from pipeline.events import DeadLetter, Mention
from pipeline.settings import load_settings
from pipeline.sources import (
    FatalError,
    MemoryEmitter,
    RetriableError,
    RetryPolicy,
    Runner,
    RunOptions,
)
from pipeline.sources.base import SourceContext
from pipeline.sources.testing import SourceTestSuite
from pipeline.sources.x.client import API, STREAM_URL
from pipeline.sources.x.mapping import snowflake_time, tweet_fields, users_by_id
from pipeline.sources.x.rules import build_rules, quote_term
from pipeline.sources.x.source import XSource
from tests.conftest import SHARED_FIXTURES
from tests.netguard import recorded_api

pytestmark = pytest.mark.usefixtures("isolated_settings")

FIX = Path(__file__).parent / "fixtures" / "sources" / "x"
RECORDED = SHARED_FIXTURES / "x"
SEARCH = f"{API}/tweets/search/recent"
RULES = f"{STREAM_URL}/rules"
TOKEN = "AAAAtest-bearer-token-not-real"
ORIG = "1860000000000000100"


def fixture(name: str) -> Any:
    return json.loads((FIX / name).read_text("utf-8"))


@pytest.fixture(autouse=True)
def _quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    # A test that goes wrong fails in a second instead of backing off for minutes.
    monkeypatch.setattr(
        XSource, "retry_policy", RetryPolicy(initial=0.01, maximum=0.05, attempts=3)
    )


@pytest.fixture(autouse=True)
def api() -> Iterator[responses.RequestsMock]:
    """Replayed X API; a request nobody registered fails the test (no live network)."""
    with recorded_api() as mock:
        yield mock


def page_for(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
    """Recent search over the documented fixtures: page 1, page 2, then what is newer."""
    q = parse_qs(urlparse(request.url or "").query)
    assert q["expansions"] == ["author_id,referenced_tweets.id,referenced_tweets.id.author_id"]
    assert "public_metrics" in q["user.fields"][0] and "entities" in q["tweet.fields"][0]
    if q.get("next_token") == [fixture("search_page1.json")["meta"]["next_token"]]:
        return 200, {}, json.dumps(fixture("search_page2.json"))
    if q.get("since_id") == [ORIG]:
        return 200, {}, json.dumps(fixture("search_newer.json"))
    if q.get("since_id"):
        return 200, {}, json.dumps(fixture("search_empty.json"))
    return 200, {}, json.dumps(fixture("search_page1.json"))


def serve_search(api: responses.RequestsMock) -> None:
    api.add_callback(responses.GET, SEARCH, callback=page_for)


@pytest.fixture
def search_api(api: responses.RequestsMock) -> responses.RequestsMock:
    serve_search(api)
    return api


def make_source(tmp_path: Path, checkpoint: dict[str, Any] | None = None, **opts: Any) -> XSource:
    cfg = XSource.Config.load("x", bearer_token=TOKEN, **opts)
    ctx = SourceContext(
        settings=load_settings(data_dir=tmp_path), checkpoint=checkpoint or {}, once=True
    )
    source = XSource(cfg, ctx)  # type: ignore[arg-type]
    source.setup()
    return source


def run(tmp_path: Path, **opts: Any) -> tuple[int, list[Any], Runner]:
    cfg = XSource.Config.load("x", bearer_token=TOKEN, **opts)
    em = MemoryEmitter()
    runner = Runner(
        XSource, cfg, load_settings(data_dir=tmp_path), RunOptions(once=True), emitter=em
    )
    return runner.run(), em.records, runner


@pytest.mark.usefixtures("search_api")
class TestXStandard(SourceTestSuite):
    source_cls = XSource
    options: ClassVar[dict[str, Any]] = {"bearer_token": TOKEN, "mode": "search"}


# -- rules -------------------------------------------------------------------------------------
def test_rules_quote_phrases_and_keep_operators() -> None:
    assert quote_term("Jordan Kim") == '"Jordan Kim"'
    assert quote_term("@jordankim") == "@jordankim" and quote_term("#Reyes2026") == "#Reyes2026"
    assert quote_term('say "no"') == '"say \\"no\\""' and quote_term("OR") == '"OR"'
    assert build_rules(["Jordan Kim", "@jordankim", "jordan kim", " "]) == [
        '"Jordan Kim" OR @jordankim'
    ]
    assert build_rules(["rent", "zoning"], suffix="lang:en  -is:retweet") == [
        "(rent OR zoning) lang:en -is:retweet"
    ]


def test_rules_pack_terms_into_512_characters() -> None:
    terms = [f"term number {i:03d}" for i in range(120)]
    rules = build_rules(terms, suffix="lang:en")
    assert all(len(r) <= 512 for r in rules) and len(rules) > 1
    assert any(len(r) > 480 for r in rules)  # packed, not one term per rule
    joined = " ".join(rules)
    assert all(f'"{t}"' in joined for t in terms)
    with pytest.raises(ValueError, match="does not fit"):
        build_rules(["x" * 600])
    with pytest.raises(ValueError, match="no terms"):
        build_rules([])


def test_too_many_rules_is_a_clear_fatal_error(tmp_path: Path) -> None:
    with pytest.raises(FatalError, match="--max-rules 1"):
        make_source(tmp_path, terms=[f"t{i} long phrase" for i in range(80)], max_rules=1)


# -- mapping (documented fixtures) ----------------------------------------------------------------
def test_maps_original_retweet_quote_and_reply() -> None:
    page = fixture("search_page1.json")
    users = users_by_id(page["includes"])
    by_id = {t.get("id"): t for t in page["data"]}
    orig = Mention(**tweet_fields(by_id[ORIG], users))
    assert orig.event_id == f"x:{ORIG}" and orig.platform == "x"
    assert orig.author.handle == "mayortorres" and orig.author.audience == 48210
    assert orig.author.display_name == "Mayor Alicia Torres"
    assert orig.text.startswith("Proud to stand with Jordan Kim on the Riverline & bus lanes")
    assert orig.links == ["https://riverline.example.org/plan?utm_source=x"]  # unwound_url
    assert orig.hashtags == ["fundtheriverline", "kimforsenate"]
    assert orig.engagement.model_dump() == {
        "likes": 210,
        "reshares": 64,
        "replies": 12,
        "quotes": 5,
    }
    assert orig.occurred_at == datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    assert orig.url == f"https://x.com/mayortorres/status/{ORIG}"
    assert orig.reshare_of is None and orig.reply_to is None

    rt = Mention(**tweet_fields(by_id["1860000000000000099"], users))
    assert rt.reshare_of == f"x:{ORIG}" and rt.author.handle == "voter_jane"
    assert rt.author.audience == 312 and rt.links == ["https://riverline.example.org/plan"]

    quote = Mention(**tweet_fields(by_id["1860000000000000098"], users))
    assert quote.reshare_of == f"x:{ORIG}" and quote.author.audience == 90211
    assert quote.links == []  # the quoted tweet's own URL is reshare_of, not a link

    reply = Mention(**tweet_fields(by_id["1860000000000000097"], users))
    assert reply.reply_to == f"x:{ORIG}" and reply.reshare_of is None
    assert reply.links == ["https://teamsters27.example.org/endorsement"]  # photo link dropped


def test_search_pages_dead_letters_and_since_id_checkpoint(
    tmp_path: Path, search_api: responses.RequestsMock
) -> None:
    code, records, _ = run(tmp_path, mode="search")
    assert code == 0
    mentions = [r for r in records if isinstance(r, Mention)]
    dead = [r for r in records if isinstance(r, DeadLetter)]
    assert len(mentions) == 22 and len(dead) == 2  # both pages read
    assert {d.reason for d in dead} == {
        "unmappable tweet: tweet 1860000000000000096: author 1500000000000000999 missing "
        "from includes.users",
        "unmappable tweet: tweet id '' is not numeric",
    }
    assert json.loads(dead[0].payload)["id"] == "1860000000000000096"
    saved = json.loads((tmp_path / "checkpoints" / "x.json").read_text())
    assert saved == {"since_id": ORIG}

    # Restart: only what is newer than the checkpoint, asked for with since_id.
    code, records, _ = run(tmp_path, mode="search")
    assert [r.event_id for r in records] == ["x:1860000000000000200"]
    assert "since_id=1860000000000000100" in (search_api.calls[-1].request.url or "")
    code, records, _ = run(tmp_path, mode="search")
    assert code == 0 and records == []


def test_expired_since_id_is_dropped(tmp_path: Path, api: responses.RequestsMock) -> None:
    api.add(
        responses.GET,
        SEARCH,
        status=400,
        json=fixture("error_400_since_id.json"),
        match=[
            responses.matchers.query_param_matcher(
                {"since_id": "1790000000000000000"}, strict_match=False
            )
        ],
    )
    serve_search(api)
    source = make_source(tmp_path, {"since_id": "1790000000000000000"}, mode="search")
    records = list(source.poll())
    assert len([r for r in records if isinstance(r, Mention)]) == 22
    assert source.checkpoint["since_id"] == ORIG


# -- failure policy ---------------------------------------------------------------------------
def test_429_waits_until_x_rate_limit_reset(tmp_path: Path, api: responses.RequestsMock) -> None:
    reset = int(time.time()) + 120
    api.add(
        responses.GET,
        SEARCH,
        status=429,
        json=fixture("error_429.json"),
        headers={"x-rate-limit-limit": "450", "x-rate-limit-remaining": "0",
                 "x-rate-limit-reset": str(reset)},
    )  # fmt: skip
    with pytest.raises(RetriableError) as info:
        list(make_source(tmp_path, mode="search").poll())
    assert info.value.retry_after is not None and 110 <= info.value.retry_after <= 120


@pytest.mark.parametrize("status", [429, 503])
def test_429_and_503_are_retried_by_the_runner(
    tmp_path: Path, api: responses.RequestsMock, status: int
) -> None:
    # A reset already past: the runner retries at once instead of sleeping in the test.
    headers = {"x-rate-limit-reset": str(int(time.time()) - 5)}
    api.add(responses.GET, SEARCH, status=status, json=fixture(f"error_{status}.json"),
            headers=headers)  # fmt: skip
    serve_search(api)
    code, records, runner = run(tmp_path, mode="search")
    assert code == 0 and runner.stats.retries == 1
    assert len([r for r in records if isinstance(r, Mention)]) == 22


def test_401_is_fatal_and_names_the_setting(
    tmp_path: Path, api: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    api.add(responses.GET, SEARCH, status=401, json=fixture("error_401.json"))
    caplog.set_level(logging.INFO)
    code, records, _ = run(tmp_path, mode="search")
    assert code == 1 and records == []
    assert "check BUZZ_SOURCE_X_BEARER_TOKEN" in caplog.text
    assert TOKEN not in caplog.text


# -- stream --------------------------------------------------------------------------------------
def serve_stream(api: responses.RequestsMock) -> None:
    api.add(responses.GET, RULES, json=fixture("rules_get.json"))
    api.add(responses.POST, RULES, json=fixture("rules_changed.json"))
    api.add(responses.GET, STREAM_URL, body=(FIX / "stream.jsonl").read_bytes(), stream=True)


def test_stream_syncs_rules_and_maps_lines(
    tmp_path: Path, api: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    serve_stream(api)
    caplog.set_level(logging.WARNING)
    source = make_source(tmp_path, mode="stream")
    records = list(source.poll())
    ids = [r.event_id for r in records if isinstance(r, Mention)]
    assert ids == [f"x:{ORIG}", "x:1860000000000000098", "x:1860000000000000097"]
    dead = [r for r in records if isinstance(r, DeadLetter)]
    assert len(dead) == 1 and dead[0].reason.startswith("stream line is not JSON")
    assert "operational-disconnect" in caplog.text
    assert source.checkpoint["since_id"] == ORIG  # newest emitted
    posts = [json.loads(c.request.body or b"{}") for c in api.calls if c.request.method == "POST"]
    # The stale rule of ours goes, the other tool's rule stays, the campaign's rule is added.
    assert posts[0] == {"delete": {"ids": ["1865000000000000001"]}}
    added = posts[1]["add"]
    assert [a["tag"] for a in added] == ["buzz"] and '"Jordan Kim"' in added[0]["value"]
    stream_call = next(c for c in api.calls if (c.request.url or "").startswith(STREAM_URL + "?"))
    assert stream_call.request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_stream_catches_up_with_search_after_a_restart(
    tmp_path: Path, api: responses.RequestsMock
) -> None:
    serve_stream(api)
    serve_search(api)
    records = list(make_source(tmp_path, {"since_id": ORIG}, mode="stream").poll())
    assert (
        getattr(records[0], "event_id", None) == "x:1860000000000000200"
    )  # from search, before the stream
    assert len([r for r in records if isinstance(r, Mention)]) == 4


def test_auto_falls_back_to_search_on_403(tmp_path: Path, api: responses.RequestsMock) -> None:
    api.add(responses.GET, RULES, status=403, json=fixture("error_403_stream.json"))
    serve_search(api)
    source = make_source(tmp_path, mode="auto")
    records = list(source.poll())
    assert source.mode == "search"
    assert len([r for r in records if isinstance(r, Mention)]) == 22


def test_stream_mode_403_is_fatal(tmp_path: Path, api: responses.RequestsMock) -> None:
    api.add(responses.GET, RULES, json=fixture("rules_get.json"))
    api.add(responses.POST, RULES, json=fixture("rules_changed.json"))
    api.add(responses.GET, STREAM_URL, status=403, json=fixture("error_403_stream.json"))
    with pytest.raises(FatalError, match="--mode search"):
        list(make_source(tmp_path, mode="stream").poll())


# -- recorded responses (tweepy's cassettes) ------------------------------------------------------
def recorded(name: str) -> tuple[dict[str, str], Any]:
    """Headers and decoded JSON body of the first interaction of a recorded cassette."""
    path = RECORDED / f"{name}.yaml"
    if not path.exists():
        pytest.skip(f"recorded X responses not found at {RECORDED} (they live beside the repo)")
    interaction = yaml.safe_load(path.read_text("utf-8"))["interactions"][0]["response"]
    headers = {k.lower(): v[0] for k, v in interaction["headers"].items()}
    body = interaction["body"]["string"]
    headers.pop("content-length", None)  # of the gzipped body, which we hand over decoded
    if headers.pop("content-encoding", "") == "gzip":
        body = gzip.decompress(body)
    return headers, json.loads(body)


def test_recorded_tweets_without_expansions_are_dead_lettered_not_a_crash(
    tmp_path: Path, api: responses.RequestsMock
) -> None:
    """Real timeline tweets recorded without expansions: no author, so no mention; kept whole."""
    headers, body = recorded("test_client_get_home_timeline")

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        if "next_token" in (request.url or ""):
            return 200, {}, json.dumps({"meta": {"result_count": 0}})
        return 200, headers, json.dumps(body)

    api.add_callback(responses.GET, SEARCH, callback=answer)
    code, records, _ = run(tmp_path, mode="search")
    assert code == 0 and len(records) == len(body["data"]) == 98
    assert all(isinstance(r, DeadLetter) and "no author_id" in r.reason for r in records)
    assert json.loads(records[0].payload) == body["data"][0]
    saved = json.loads((tmp_path / "checkpoints" / "x.json").read_text())
    assert saved == {"since_id": body["meta"]["newest_id"]}


def test_recorded_tweet_and_user_map_to_a_mention() -> None:
    _, timeline = recorded("test_client_get_home_timeline")
    _, users = recorded("test_client_get_users")
    tweet = next(t for t in timeline["data"] if "&amp;" in t["text"])
    dev = next(u for u in users["data"] if u["username"] == "TwitterDev")
    # The recording asked for no expansions: attach the recorded user as its author.
    mention = Mention(
        **tweet_fields({**tweet, "author_id": dev["id"]}, users_by_id({"users": users["data"]}))
    )
    assert mention.text.startswith("So @alanbenlee @snowman & I are testing")
    assert mention.author.handle == "TwitterDev" and mention.author.display_name == "Twitter Dev"
    assert mention.author.audience == 0  # no public_metrics were asked for
    assert mention.url == f"https://x.com/TwitterDev/status/{tweet['id']}"
    # No created_at either: the time comes from the snowflake id, just before the recording.
    timeline_headers, _ = recorded("test_client_get_home_timeline")
    recorded_at = datetime.fromtimestamp(int(timeline_headers["x-rate-limit-reset"]), UTC)
    assert timedelta(0) < recorded_at - mention.occurred_at < timedelta(days=3)
    assert snowflake_time(timeline["meta"]["newest_id"]) <= recorded_at
