"""The rss connector: feeds -> mentions, comment feeds -> threads, conditional GET, hostile feeds.

Every feed is served from tests/fixtures/sources/rss by a local HTTP server; nothing leaves
127.0.0.1.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from pipeline.events import DeadLetter, Mention, ThreadPost, decode
from pipeline.settings import ConfigError, load_settings
from pipeline.sources import CheckpointStore, MemoryEmitter, Runner, RunOptions
from pipeline.sources.emitter import Record
from pipeline.sources.rss.source import RssConfig, RssSource
from pipeline.sources.testing import FixtureServer, SourceTestSuite

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "sources" / "rss"
SERVER = FixtureServer(FIXTURES).start()  # the suite's options need its URL at class definition
NEWS = SERVER.url + "/news.xml"
ATOM_COMMENTS = SERVER.url + "/comments_atom.xml"
RSS_COMMENTS = SERVER.url + "/comments_rss.xml"


@pytest.fixture(autouse=True)
def _isolated(isolated_settings: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    SERVER.overrides.clear()
    SERVER.seen.clear()
    yield


class TestRssStandard(SourceTestSuite):
    source_cls = RssSource
    options = {"url": [NEWS], "comments_url": [ATOM_COMMENTS, RSS_COMMENTS]}  # noqa: RUF012


def run(data_dir: Path, limit: int | None = None, **options: Any) -> tuple[int, list[Record]]:
    config = RssSource.Config.load("rss", **options)
    emitter = MemoryEmitter()
    runner = Runner(
        RssSource,
        config,
        load_settings(data_dir=data_dir),
        RunOptions(once=True, limit=limit),
        emitter=emitter,
    )
    return runner.run(), emitter.records


def test_news_entries_become_mentions_oldest_first(tmp_path: Path) -> None:
    code, records = run(tmp_path, url=NEWS)
    assert code == 0 and len(records) == 22
    first = records[0]
    assert isinstance(first, Mention)
    digest = hashlib.sha1(f"{NEWS}\nledger-1000".encode()).hexdigest()
    assert first.event_id == f"rss:{digest}"
    assert first.platform == "rss"
    assert first.occurred_at == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert first.text == (
        "Kim campaign and transit plan (0)\n\n"
        "Jordan Kim spoke about transit plan on day 0. Read the document."
    )
    assert first.url == "https://riverside-ledger.example/2026/11/kim-0"
    assert first.links == [
        "https://riverside-ledger.example/2026/11/kim-0",
        "https://riverside-ledger.example/docs/0",
    ]
    assert first.author.id == "riverside-ledger.example:Reporter 0"
    assert first.author.handle == "Reporter 0"
    assert first.lang == "en" and first.hashtags == ["localpolitics"]
    # No byline: the outlet speaks.
    second = records[1]
    assert isinstance(second, Mention)
    assert second.author.handle == "riverside-ledger.example"
    assert second.author.display_name == "Riverside Ledger: Politics"
    times = [r.occurred_at for r in records if isinstance(r, Mention)]
    assert times == sorted(times)


def test_atom_comments_are_threaded_by_in_reply_to(tmp_path: Path) -> None:
    code, records = run(tmp_path, comments_url=ATOM_COMMENTS)
    assert code == 0
    sam, priya = records
    assert isinstance(sam, ThreadPost) and isinstance(priya, ThreadPost)
    thread = "rss:https://maple-notes.example/2026/11/why-i-back-kim/"
    assert sam.thread_id == priya.thread_id == thread
    assert sam.thread_title == "Why I back Jordan Kim"
    assert sam.post_id == "https://maple-notes.example/?p=45#comment-11"
    assert sam.parent_id is None  # a reply to the article itself
    assert priya.parent_id == "https://maple-notes.example/?p=45#comment-11"
    assert priya.author.handle == "Priya" and priya.author.id == "maple-notes.example:Priya"
    assert priya.text == "Where does the transit money come from? See the budget."
    assert priya.links == ["https://budget.example/2027"]
    assert priya.url == "https://maple-notes.example/2026/11/why-i-back-kim/#comment-12"
    assert priya.occurred_at == datetime(2026, 11, 21, 12, 30, tzinfo=UTC)


def test_wordpress_rss_comments(tmp_path: Path) -> None:
    _, records = run(tmp_path, comments_url=RSS_COMMENTS)
    (lee,) = records
    assert isinstance(lee, ThreadPost)
    assert lee.thread_id == "rss:https://maple-notes.example/2026/11/town-hall-recap/"
    assert lee.thread_title == "Town hall recap" and lee.author.handle == "Lee"
    assert lee.post_id == "https://maple-notes.example/?p=52#comment-30"
    assert lee.parent_id is None
    assert lee.text == "Thanks for the recap. Was the clinic question answered?"


def events(out: bytes) -> list[dict[str, Any]]:
    """A dry run's events, without the ingest time (which differs from run to run)."""
    rows = [orjson.loads(line) for line in out.splitlines()]
    for row in rows:
        row["value"].pop("ingested_at")
    return rows


def test_cli_once_dry_run_prints_valid_events_and_changes_no_state(tmp_path: Path) -> None:
    """`buzz source run rss --url URL --once --dry-run`, twice: the same events both times.

    A dry run reads the checkpoint (it shows what a real run would send next) but never writes
    it, so checking a feed first loses nothing for the real run.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUZZ_")}
    env["BUZZ_DATA_DIR"] = str(tmp_path)
    cmd = [sys.executable, "-m", "pipeline", "source", "run", "rss", "--url", NEWS]
    cmd += ["--once", "--dry-run"]
    first = subprocess.run(cmd, capture_output=True, env=env, cwd=ROOT, timeout=60, check=False)
    assert first.returncode == 0, first.stderr.decode()
    lines = first.stdout.decode().splitlines()
    assert len(lines) == 22
    for line in lines:
        row = orjson.loads(line)
        event = decode(row["topic"], orjson.dumps(row["value"]))
        assert row["topic"] == "buzz.mentions" and row["key"] == event.key().decode()
    assert list(tmp_path.iterdir()) == []  # no checkpoint, nothing at all

    second = subprocess.run(cmd, capture_output=True, env=env, cwd=ROOT, timeout=60, check=False)
    assert second.returncode == 0, second.stderr.decode()
    assert events(second.stdout) == events(first.stdout)
    assert list(tmp_path.iterdir()) == []

    # A real run saves the ETag; a dry run after it reads that checkpoint: 304, nothing new.
    code, records = run(tmp_path, url=NEWS)
    assert code == 0 and len(records) == 22
    etag = '"' + hashlib.sha1((FIXTURES / "news.xml").read_bytes()).hexdigest() + '"'
    checkpoint = tmp_path / "checkpoints" / "rss.json"
    saved = checkpoint.read_bytes()
    assert orjson.loads(saved)["feeds"][NEWS]["etag"] == etag
    third = subprocess.run(cmd, capture_output=True, env=env, cwd=ROOT, timeout=60, check=False)
    assert third.returncode == 0 and third.stdout == b""
    assert SERVER.seen[-1][1].get("if-none-match") == etag
    assert checkpoint.read_bytes() == saved


def test_interrupted_poll_resumes_without_loss_or_repeats(tmp_path: Path) -> None:
    _, part = run(tmp_path, limit=5, url=NEWS)
    assert len(part) == 5
    state = CheckpointStore.for_source("rss", tmp_path).load()["feeds"][NEWS]
    assert state.get("etag") is None  # the feed was not finished: it must be read again
    _, rest = run(tmp_path, url=NEWS)
    ids = [r.event_id for r in part + rest]  # type: ignore[attr-defined]
    assert len(rest) == 17 and len(set(ids)) == 22
    _, again = run(tmp_path, url=NEWS)
    assert again == []


def test_failing_feed_backs_off_without_stopping_the_others(tmp_path: Path) -> None:
    bad = SERVER.url + "/broken.xml"
    SERVER.respond("/broken.xml", 503, b"busy", {"Retry-After": "120"})
    code, records = run(tmp_path, url=[bad, NEWS])
    assert code == 0 and len(records) == 22
    state = CheckpointStore.for_source("rss", tmp_path).load()["feeds"][bad]
    assert state["failures"] == 1
    assert state["retry_at"] == pytest.approx(time.time() + 120, abs=10)
    SERVER.seen.clear()
    run(tmp_path, url=[bad, NEWS])
    assert [p for p, _ in SERVER.seen] == ["/news.xml"]  # the failing feed is left alone


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8)
    )
    + b']><rss version="2.0"><channel><title>&i;</title></channel></rss>'
)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (BILLION_LAUGHS, "entity-expansion"),
        (b"<html><body><p>Not a feed</p></body></html>", "not an RSS or Atom document"),
        (b"\x00\x01\x02 garbage", "not an RSS or Atom document"),
        (b"<rss>" + b"x" * 3_000_000, "cap (--max-bytes)"),
    ],
    ids=["billion-laughs", "html", "garbage", "huge"],
)
def test_hostile_or_malformed_feed_is_dead_lettered_and_skipped(
    tmp_path: Path, body: bytes, reason: str
) -> None:
    SERVER.respond("/hostile.xml", 200, body, {"Content-Type": "application/xml"})
    started = time.monotonic()
    code, records = run(tmp_path, url=[SERVER.url + "/hostile.xml", NEWS], max_bytes=2_000_000)
    assert code == 0 and time.monotonic() - started < 10
    dead = [r for r in records if isinstance(r, DeadLetter)]
    assert len(dead) == 1 and reason in dead[0].reason and "/hostile.xml" in dead[0].reason
    assert dead[0].source == "rss" and len(dead[0].payload) <= 64 * 1024
    assert sum(isinstance(r, Mention) for r in records) == 22  # the good feed still went out
    state = CheckpointStore.for_source("rss", tmp_path).load()["feeds"]
    assert state[SERVER.url + "/hostile.xml"]["failures"] == 1


def test_config_errors_name_the_option() -> None:
    with pytest.raises(ConfigError, match="no feeds: give --url"):
        RssSource.Config.load("rss")
    with pytest.raises(ConfigError, match="--url"):
        RssSource.Config.load("rss", url="ftp://example.org/feed")
    cfg = RssConfig.load(
        "rss", url=NEWS, feeds=f'[{{"url": "{RSS_COMMENTS}", "kind": "comments"}}]'
    )
    assert [(f.url, f.kind) for f in cfg.all_feeds()] == [
        (NEWS, "news"),
        (RSS_COMMENTS, "comments"),
    ]


def test_feeds_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUZZ_SOURCE_RSS_URL", f"{NEWS} {SERVER.url}/other.xml")
    cfg = RssConfig.load("rss")
    assert cfg.url == [NEWS, f"{SERVER.url}/other.xml"]


def rdf_feed(authors: list[str]) -> bytes:
    """An RSS 1.0 (RDF) feed like a preprint server's, one item per author list."""
    items = "".join(
        f"""<item rdf:about="https://preprints.example/{n}"><title>Transit study {n}</title>
        <link>https://preprints.example/{n}</link><dc:creator>{who}</dc:creator>
        <dc:date>2026-11-20T0{n}:00:00Z</dc:date><description>Abstract {n}.</description></item>"""
        for n, who in enumerate(authors)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="https://preprints.example/feed"><title>Preprints</title>
<link>https://preprints.example/</link><description>New preprints</description></channel>
{items}</rdf:RDF>""".encode()


def test_a_long_author_list_is_cut_and_flagged_not_refused(tmp_path: Path) -> None:
    """Real preprint feeds list dozens of authors in one dc:creator: past the 200-character limit
    of author.id and author.handle the item is still one valid event, its cut fields named."""
    names = ", ".join(f"Author{i:03d} Surname{i:03d}" for i in range(25))  # 25 authors
    long_list = names[:500]
    assert len(long_list) == 500
    SERVER.respond("/preprints.xml", 200, rdf_feed([long_list, "Lee Park"]))
    code, records = run(tmp_path, url=SERVER.url + "/preprints.xml")
    assert code == 0 and len(records) == 2
    assert all(isinstance(r, Mention) for r in records)
    short_one, long_one = sorted(records, key=lambda r: len(r.author.handle))  # type: ignore[attr-defined]
    assert isinstance(long_one, Mention) and isinstance(short_one, Mention)
    decode(long_one.topic, long_one.to_json())  # valid on the topic, as the worker reads it
    assert long_one.truncated == ["author.handle", "author.id"]
    assert long_one.author.handle == long_list[:200]
    assert len(long_one.author.id) == 200 and long_one.author.id.startswith("preprints.example:")
    assert long_one.author.display_name == long_list  # within its own 500-character limit
    assert orjson.loads(long_one.to_json())["truncated"] == ["author.handle", "author.id"]
    assert short_one.truncated == [] and short_one.author.handle == "Lee Park"
    assert "truncated" not in orjson.loads(short_one.to_json())
