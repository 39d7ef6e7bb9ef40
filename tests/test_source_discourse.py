"""The discourse connector: topics and posts as threads, parents, long topics, rate limits.

Our own fixtures (tests/fixtures/sources/discourse) carry every test; the recorded responses of a
real Discourse in ../shared/fixtures/discourse are used too when they are there.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from pipeline.events import ThreadPost
from pipeline.settings import ConfigError, load_settings
from pipeline.sources import CheckpointStore, MemoryEmitter, Runner, RunOptions
from pipeline.sources.base import SourceContext
from pipeline.sources.discourse.mapping import post_fields
from pipeline.sources.discourse.source import DiscourseConfig, DiscourseSource
from pipeline.sources.emitter import Record
from pipeline.sources.errors import RetriableError
from pipeline.sources.testing import FixtureServer, SourceTestSuite

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "sources" / "discourse"
RECORDED = ROOT.parent / "shared" / "fixtures" / "discourse"
SERVER = FixtureServer(FIXTURES).start()
HOST = "127.0.0.1"
needs_recorded = pytest.mark.skipif(
    not RECORDED.is_dir(),
    reason=f"recorded Discourse responses not found at {RECORDED} (they live beside the repo)",
)


@pytest.fixture(autouse=True)
def _isolated(isolated_settings: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    SERVER.overrides.clear()
    SERVER.seen.clear()
    yield


class TestDiscourseStandard(SourceTestSuite):
    source_cls = DiscourseSource
    options = {"base_url": SERVER.url}  # noqa: RUF012


def run(
    data_dir: Path, base_url: str = SERVER.url, limit: int | None = None, **options: Any
) -> tuple[int, list[Record], Runner]:
    config = DiscourseSource.Config.load("discourse", base_url=base_url, **options)
    emitter = MemoryEmitter()
    runner = Runner(
        DiscourseSource,
        config,
        load_settings(data_dir=data_dir),
        RunOptions(once=True, limit=limit),
        emitter=emitter,
    )
    return runner.run(), emitter.records, runner


def posts_by_id(records: list[Record]) -> dict[str, ThreadPost]:
    return {r.post_id: r for r in records if isinstance(r, ThreadPost)}


def test_topics_mode_reads_long_topics_and_threads_replies(tmp_path: Path) -> None:
    code, records, _ = run(tmp_path)
    assert code == 0 and len(records) == 28
    by_id = posts_by_id(records)
    # Topic 102 was bumped first, so it goes out first; posts in id order within a topic.
    assert list(by_id)[:3] == ["2001", "2002", "2005"]
    assert list(by_id)[3:] == [str(1000 + n) for n in range(1, 26)]
    first, third, fifth, last = by_id["1001"], by_id["1003"], by_id["1005"], by_id["1025"]
    assert first.event_id == f"discourse:{HOST}:post:1001"
    assert first.thread_id == f"discourse:{HOST}:101" and first.parent_id is None
    assert first.thread_title == "Transit plan town hall: questions"
    assert first.text == (
        "Questions for the transit plan town hall go here. Plan: kim2026.example/transit"
    )
    assert first.links == ["https://kim2026.example/transit"]
    assert first.author.handle == "tom_r" and first.author.display_name == "Tom Reyes"
    assert first.author.id == f"{HOST}:8"
    assert first.url == f"{SERVER.url}/t/transit-plan-town-hall-questions/101/1"
    assert first.occurred_at == datetime(2026, 11, 21, 8, 3, tzinfo=UTC)
    assert third.parent_id == "1002"  # reply_to_post_number 2
    assert fifth.text == "Will the route 5 bus run on Sundays?"
    assert by_id["1004"].parent_id == "1001"  # no reply_to_post_number: replies to the topic
    assert last.parent_id == "1024"  # loaded through /t/101/posts.json
    assert by_id["1006"].text == "Reply 6: the numbers are in the budget.\n\nquoted"
    # The five posts missing from /t/101.json were asked for by id, in one chunk.
    asked = [p for p, _ in SERVER.seen if p.startswith("/t/101/posts.json")]
    assert len(asked) == 1 and all(f"post_ids%5B%5D={i}" in asked[0] for i in range(1021, 1026))


def test_restart_neither_loses_nor_repeats(tmp_path: Path) -> None:
    _, part, _ = run(tmp_path, limit=10)
    _, rest, _ = run(tmp_path)
    ids = [r.event_id for r in part + rest]  # type: ignore[attr-defined]
    assert len(ids) == len(set(ids)) == 28
    cp = CheckpointStore.for_source("discourse", tmp_path).load()
    assert cp["topics"]["101"]["last_post_id"] == 1025
    assert cp["topics"]["101"]["bumped_at"] == "2026-11-21T09:15:00Z"
    # Nothing bumped since: only /latest.json is asked.
    SERVER.seen.clear()
    _, again, _ = run(tmp_path)
    assert again == [] and [p for p, _ in SERVER.seen] == ["/latest.json"]


def test_posts_mode_resolves_the_first_post(tmp_path: Path) -> None:
    code, records, _ = run(tmp_path, mode="posts")
    assert code == 0
    by_id = posts_by_id(records)
    assert list(by_id) == ["1024", "1025", "2002", "2005"]
    assert by_id["1024"].parent_id == "1001"  # learnt from /t/101.json
    assert by_id["1025"].parent_id == "1024" and by_id["2005"].parent_id == "2002"
    assert by_id["2002"].thread_title == "Volunteer canvass Saturday"
    assert CheckpointStore.for_source("discourse", tmp_path).load()["last_post_id"] == 2005


def test_rate_limit_is_retried_with_retry_after(tmp_path: Path) -> None:
    SERVER.respond("/latest.json", 429, b'{"errors": ["slow down"]}', {"Retry-After": "0"})
    code, records, runner = run(tmp_path)
    assert code == 0 and runner.stats.retries == 1 and len(records) == 28

    SERVER.respond("/latest.json", 429, b"{}", {"Retry-After": "37"})
    config = DiscourseConfig.load("discourse", base_url=SERVER.url)
    source = DiscourseSource(config, SourceContext(settings=load_settings(data_dir=tmp_path)))
    source.setup()
    with pytest.raises(RetriableError) as err:
        list(source.poll())
    assert err.value.retry_after == 37.0
    source.teardown()


def test_gone_topic_is_skipped_and_bad_credentials_are_fatal(tmp_path: Path) -> None:
    SERVER.respond("/t/102.json", 404, b'{"errors": ["not found"]}')
    code, records, _ = run(tmp_path)
    assert code == 0 and len(records) == 25  # topic 101 still read
    SERVER.respond("/latest.json", 403, b'{"errors": ["invalid api key"]}')
    code, _, runner = run(tmp_path / "b", api_key="k", api_username="system")
    assert code == 1 and runner.stats.stop_reason == "fatal error"
    assert SERVER.seen[-1][1]["api-key"] == "k"


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="--base-url"):
        DiscourseSource.Config.load("discourse", base_url="forum.example.org")
    with pytest.raises(ConfigError, match="go together"):
        DiscourseSource.Config.load("discourse", base_url=SERVER.url, api_key="k")


@needs_recorded
def test_recorded_topic_maps_parents_and_text() -> None:
    topic = orjson.loads((RECORDED / "topic.json").read_bytes())
    posts = topic["post_stream"]["posts"]
    numbers = {str(p["post_number"]): p["id"] for p in posts}
    meta = {"id": topic["id"], "title": topic["title"], "slug": topic["slug"]}
    rows = [
        ThreadPost(**post_fields("https://try.example", "try.example", meta, p, numbers))
        for p in posts
    ]
    assert [r.post_id for r in rows] == ["83", "84", "86", "226"]
    assert [r.parent_id for r in rows] == [None, "83", "83", "83"]
    assert rows[0].thread_id == "discourse:try.example:57"
    assert rows[0].text.startswith("Welcome!\n\nTry is a sandbox")
    assert rows[0].links == [
        "http://www.discourse.org",
        "http://meta.discourse.org",
        "https://github.com/discourse/discourse",
    ]
    assert rows[0].author.handle == "samsaffron" and rows[0].author.display_name == "Sam Saffron"
    assert rows[3].url == "https://try.example/t/this-site-is-a-sandbox-it-is-reset-every-day/57/14"


@needs_recorded
def test_recorded_responses_through_the_connector(tmp_path: Path) -> None:
    """latest.json -> topic 57 (topic.json); and posts mode over posts_latest.json."""
    site = tmp_path / "site"
    (site / "t" / "57").mkdir(parents=True)
    latest = orjson.loads((RECORDED / "latest.json").read_bytes())
    latest["topic_list"]["topics"] = latest["topic_list"]["topics"][:1]
    latest["topic_list"]["topics"][0]["id"] = 57  # point the recorded summary at the topic we have
    (site / "latest.json").write_bytes(orjson.dumps(latest))
    shutil.copy(RECORDED / "topic.json", site / "t" / "57.json")
    shutil.copy(RECORDED / "posts_latest.json", site / "posts.json")
    with FixtureServer(site) as server:
        code, records, _ = run(tmp_path / "a", base_url=server.url)
        assert code == 0 and [r.post_id for r in records] == ["83", "84", "86", "226"]  # type: ignore[attr-defined]
        assert records[3].parent_id == "83"  # type: ignore[attr-defined]
        code, records, _ = run(tmp_path / "b", base_url=server.url, mode="posts")
        assert code == 0
        by_id = posts_by_id(records)
        assert list(by_id) == ["2", "10", "14", "15"]
        assert by_id["15"].parent_id == "14" and by_id["14"].parent_id is None
        assert by_id["15"].text == "holla bullhonky." and by_id["15"].author.handle == "johndoe"
        assert by_id["15"].thread_title == "This is an uncategorized title"
