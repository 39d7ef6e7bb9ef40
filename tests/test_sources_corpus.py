"""Each connector's parser against real inputs nobody here wrote: every item becomes exactly one
valid event or exactly one dead letter with a reason.

- rss: feedparser's own test feeds and the W3C feed validator's test cases
  (``../shared/corpora/feeds``): each file goes through the connector's ``feed_records``, as a
  fetched body does; its items are the feed's entries, or the file itself when it is no feed.
- mastodon, x, discourse: responses real servers sent, recorded by Mastodon.py's, tweepy's and
  discourse_api's own test suites (``../shared/fixtures``), served at the endpoints the
  connectors call and read through one poll each; the items are the statuses, tweets and posts
  in them (accounts, users, counts and topic lists are what the connectors do not map).

The counts are the ones docs/connectors.md reports; a test keeps the two in step. Nothing is
copied into the project: without ``../shared`` these tests skip, saying why.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest
import responses
import yaml

from pipeline.events import DeadLetter, decode
from pipeline.settings import load_settings
from pipeline.sources import MemoryEmitter, Runner, RunOptions
from pipeline.sources.base import Source, SourceContext
from pipeline.sources.discourse.source import DiscourseSource
from pipeline.sources.emitter import Record
from pipeline.sources.mastodon.source import MastodonSource
from pipeline.sources.rss.mapping import NotAFeed, parse_feed
from pipeline.sources.rss.source import FeedSpec, RssSource
from pipeline.sources.x.client import API
from pipeline.sources.x.source import XSource
from tests.netguard import recorded_api

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FEEDS = SHARED / "corpora" / "feeds"
RECORDED = SHARED / "fixtures"
DOCS = ROOT / "docs" / "connectors.md"

pytestmark = pytest.mark.usefixtures("isolated_settings")


def need(path: Path) -> Path:
    if not path.is_dir():
        pytest.skip(f"real-world corpus not found at {path} (it lives beside the repository)")
    return path


class Tally:
    """Items in, records out, per corpus: what the docs report."""

    rows: ClassVar[dict[str, Counter[str]]] = {}

    @classmethod
    def of(cls, corpus: str) -> Counter[str]:
        return cls.rows.setdefault(corpus, Counter())


def check_one_each(source: str, items: int, records: list[Record], where: str) -> Counter[str]:
    """Exactly one record per item, each a valid event or a dead letter with a reason."""
    assert len(records) == items, f"{where}: {items} items gave {len(records)} records"
    counts: Counter[str] = Counter(items=items)
    for record in records:
        if isinstance(record, DeadLetter):
            assert record.reason and record.source == source, f"{where}: {record}"
            counts["dead letters"] += 1
        else:
            event = decode(record.topic, record.to_json())  # valid against its topic's schema
            assert event.event_id == record.event_id  # type: ignore[attr-defined]
            counts["events"] += 1
    return counts


# -- rss ------------------------------------------------------------------------------------------
def feed_files(corpus: str) -> list[Path]:
    root = need(FEEDS / corpus)
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != "LICENSE")


@pytest.mark.parametrize("corpus", ["feedparser", "feedvalidator"])
def test_rss_every_entry_is_one_event_or_one_dead_letter(tmp_path: Path, corpus: str) -> None:
    files = feed_files(corpus)
    config = RssSource.Config.load("rss", url=["https://corpus.example/"])
    ctx = SourceContext(settings=load_settings(data_dir=tmp_path), once=True)
    source = RssSource(config, ctx)  # type: ignore[arg-type]
    tally = Tally.of(f"rss {corpus}")
    for path in files:
        rel = path.relative_to(FEEDS)
        body = path.read_bytes()
        try:
            items = len(parse_feed(body).entries[: config.max_entries])  # type: ignore[attr-defined]
        except NotAFeed:
            items = 1  # the file itself: one dead letter saying why it is no feed
            tally["files not a feed"] += 1
        spec = FeedSpec(url=f"https://corpus.example/{rel}")
        records = list(source.feed_records(spec, body, {}))
        tally.update(check_one_each("rss", items, records, str(rel)))
        tally["files"] += 1
    assert tally["files"] == len(files) > 2000


# -- recorded responses -----------------------------------------------------------------------
def cassette(path: Path) -> list[dict[str, Any]]:
    """A vcrpy cassette's interactions as {method, url, status, headers, body (decoded JSON)}."""
    out = []
    for interaction in yaml.safe_load(path.read_text("utf-8"))["interactions"]:
        response = interaction["response"]
        headers = {k.lower(): v[0] for k, v in response["headers"].items()}
        body = response["body"]["string"]
        raw = body.encode() if isinstance(body, str) else body
        if headers.get("content-encoding") == "gzip":
            raw = gzip.decompress(raw)
        out.append(
            {
                "method": interaction["request"]["method"],
                "url": interaction["request"]["uri"],
                "status": response["status"]["code"],
                "body": json.loads(raw) if raw.strip() else None,
            }
        )
    return out


def one_poll(source_cls: type[Source[Any]], data_dir: Path, **options: Any) -> list[Record]:
    config = source_cls.Config.load(source_cls.name, **options)
    emitter = MemoryEmitter()
    runner = Runner(
        source_cls, config, load_settings(data_dir=data_dir), RunOptions(once=True),
        emitter=emitter,
    )  # fmt: skip
    assert runner.run() == 0
    return emitter.records


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with recorded_api() as mock:
        yield mock


def statuses_in(body: Any) -> list[Any] | None:
    """The statuses of a recorded Mastodon answer; None for answers that hold none."""
    if isinstance(body, list) and body and isinstance(body[0], dict) and "account" in body[0]:
        return body
    if isinstance(body, list):
        return None  # accounts, relationships
    if isinstance(body, dict) and "statuses" in body:
        return list(body["statuses"])
    if isinstance(body, dict) and "ancestors" in body:
        return [*body["ancestors"], *body["descendants"]]
    if isinstance(body, dict) and "account" in body and "visibility" in body:
        return [body]  # a status posted, or deleted
    return None


def test_mastodon_every_recorded_status_is_one_event_or_one_dead_letter(
    tmp_path: Path, api: responses.RequestsMock
) -> None:
    tally = Tally.of("mastodon")
    base = "http://localhost:3000"
    for path in sorted(need(RECORDED / "mastodon").glob("*.yaml")):
        for n, answer in enumerate(cassette(path)):
            statuses = statuses_in(answer["body"])
            if answer["status"] != 200 or statuses is None:
                tally["answers without statuses"] += 1
                continue
            api.reset()
            api.add(responses.GET, f"{base}/api/v1/timelines/tag/corpus", json=statuses)
            records = one_poll(
                MastodonSource, tmp_path / f"{path.stem}-{n}", instance_url=base, hashtag="corpus"
            )
            where = f"{path.name} #{n}"
            tally.update(check_one_each("mastodon", len(statuses), records, where))
            tally["answers"] += 1
    assert tally["items"] > 0


def test_x_every_recorded_tweet_is_one_event_or_one_dead_letter(
    tmp_path: Path, api: responses.RequestsMock
) -> None:
    tally = Tally.of("x")
    for path in sorted(need(RECORDED / "x").glob("*.yaml")):
        for n, answer in enumerate(cassette(path)):
            body = answer["body"]
            tweets = body.get("data") if isinstance(body, dict) else None
            if not (isinstance(tweets, list) and tweets and "text" in tweets[0]):
                tally["answers without tweets"] += 1  # users, counts
                continue
            api.reset()
            page = {k: v for k, v in body.items() if k != "meta"} | {"meta": {"result_count": 1}}
            api.add(responses.GET, f"{API}/tweets/search/recent", json=page)
            records = one_poll(
                XSource, tmp_path / f"{path.stem}-{n}",
                bearer_token="corpus-token", mode="search", terms=["corpus"],
            )  # fmt: skip
            unique = len({t.get("id") for t in tweets})
            tally.update(check_one_each("x", unique, records, f"{path.name} #{n}"))
            tally["answers"] += 1
    assert tally["items"] > 0


def test_discourse_every_recorded_post_is_one_event_or_one_dead_letter(
    tmp_path: Path, api: responses.RequestsMock
) -> None:
    """topic.json and topic_posts.json through topics mode (the stream lists the post that
    topic_posts.json answers, as Discourse does for posts past the first page), and
    posts_latest.json through posts mode."""
    folder = need(RECORDED / "discourse")
    topic = json.loads((folder / "topic.json").read_text("utf-8"))
    more = json.loads((folder / "topic_posts.json").read_text("utf-8"))
    latest_posts = json.loads((folder / "posts_latest.json").read_text("utf-8"))
    base = "https://forum.example.org"
    extra = [p["id"] for p in more["post_stream"]["posts"]]
    stream = {**topic["post_stream"], "stream": [*topic["post_stream"]["stream"], *extra]}
    summary = {"id": topic["id"], "bumped_at": topic["last_posted_at"]}
    api.add(responses.GET, f"{base}/latest.json", json={"topic_list": {"topics": [summary]}})
    api.add(responses.GET, f"{base}/t/{topic['id']}.json", json={**topic, "post_stream": stream})
    api.add(responses.GET, f"{base}/t/{topic['id']}/posts.json", json=more)
    api.add(responses.GET, f"{base}/posts.json", json=latest_posts)
    for topic_id in {p["topic_id"] for p in latest_posts["latest_posts"]}:
        api.add(responses.GET, f"{base}/t/{topic_id}.json", status=404)  # not recorded

    tally = Tally.of("discourse")
    records = one_poll(DiscourseSource, tmp_path / "topics", base_url=base)
    items = len(topic["post_stream"]["posts"]) + len(extra)
    tally.update(check_one_each("discourse", items, records, "topic.json, topic_posts.json"))
    records = one_poll(DiscourseSource, tmp_path / "posts", base_url=base, mode="posts")
    items = len(latest_posts["latest_posts"])
    tally.update(check_one_each("discourse", items, records, "posts_latest.json"))
    asked = {urlsplit(c.request.url or "").path for c in api.calls}
    assert {"/t/57/posts.json", "/posts.json"} <= asked


# -- the docs report these counts ------------------------------------------------------------
DOC_ROWS = {
    "rss feedparser": "rss | feedparser's test feeds",
    "rss feedvalidator": "rss | W3C feed validator's test cases",
    "mastodon": "mastodon | Mastodon.py's recorded responses",
    "x": "x | tweepy's recorded responses",
    "discourse": "discourse | discourse_api's recorded responses",
}


def test_the_docs_report_these_counts() -> None:
    """Runs last in this module: compares the tallies above with docs/connectors.md."""
    if len(Tally.rows) < len(DOC_ROWS):
        pytest.skip("the corpus tests above did not all run (select the whole module)")
    for corpus, tally in sorted(Tally.rows.items()):
        print(corpus, dict(tally))  # shown with -s, and in the report of a failure
    text = DOCS.read_text("utf-8")
    for corpus, label in DOC_ROWS.items():
        t = Tally.rows[corpus]
        row = f"| {label} | {t['items']:,} | {t['events']:,} | {t['dead letters']:,} |"
        assert row in text, f"docs/connectors.md should report: {row}"
