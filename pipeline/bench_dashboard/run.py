"""``buzz bench dashboard``: seed a warehouse with N mentions, time every page query, print.

Starts its own embedded warehouse (``buzz warehouse``) on a free port with a throw-away data
directory (or ``--data-dir``, kept and reused: a directory seeded before is not seeded again),
applies the migrations, seeds it (see ``seed_mentions`` and ``seed_others``), waits for the
background merges the seed started, then runs every query of every page (``plan``) once to warm
up and ``runs`` times more, and prints p50/p95 per query against the target. Before each page
the stream is topped up to the present and minutes closed, as a running worker would, so the
live windows hold what they would on a running system.

Figures only: nothing here asserts a speed.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clickhouse_connect.driver.client import Client
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from pipeline.bench_dashboard import seed_mentions, seed_minutes, seed_others
from pipeline.bench_dashboard.shape import Shape
from pipeline.campaign import Campaign, load_campaign

if TYPE_CHECKING:
    from pipeline.bench_dashboard.plan import PageQuery

TARGET_MS = 300.0
CHUNK = 500_000
MERGE_WAIT_SECONDS = 600
# The table is wide: keep it readable when the output goes to a file or a pipe.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)


@dataclass(frozen=True)
class Timing:
    query: PageQuery
    p50_ms: float
    p95_ms: float
    rows: int

    @property
    def meets_target(self) -> bool:
        return self.p95_ms <= TARGET_MS


def percentile(samples: list[float], p: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default)."""
    ordered = sorted(samples)
    rank = p * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _progress() -> Progress:
    # A bar in a terminal; in a log file, a line per step (see ``_advance``).
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )


def _advance(progress: Progress, task: TaskID, by: int = 1) -> None:
    progress.advance(task, by)
    if progress.disable:
        t = progress.tasks[task]
        console.print(
            f"  {t.description}: {t.completed:,.0f} of {t.total:,.0f} ({t.elapsed:.0f} s)"
        )


class Seeder:
    """Seeds once and keeps the stream live; remembers what it wrote in ``seed.json``."""

    def __init__(self, client: Client, campaign: Campaign, state_file: Path) -> None:
        self.client = client
        self.campaign = campaign
        self.state_file = state_file
        self.shape: Shape | None = None
        self.written = 0  # mentions written so far (history and top-ups)

    def load(self, mentions: int) -> bool:
        """Pick up an earlier seed of the same size from the state file; False if none."""
        if not self.state_file.exists():
            return False
        state = json.loads(self.state_file.read_text("utf-8"))
        if state.get("mentions") != mentions:
            raise RuntimeError(
                f"{self.state_file.parent} holds a seed of {state.get('mentions'):,} mentions, "
                f"not {mentions:,}; use another --data-dir"
            )
        end = datetime.fromisoformat(state["end"])
        self.shape = Shape.build(mentions, end, self.campaign)
        self.written = int(state["written"])
        return True

    def save(self) -> None:
        assert self.shape is not None
        state = {"mentions": self.shape.mentions, "end": self.shape.end.isoformat()}
        self.state_file.write_text(json.dumps(state | {"written": self.written}), "utf-8")

    def seed(self, mentions: int) -> None:
        shape = self.shape = Shape.build(mentions, datetime.now(UTC), self.campaign)
        with _progress() as progress:
            task = progress.add_task("mentions and their scores", total=mentions)
            for first in range(0, mentions, CHUNK):
                count = min(CHUNK, mentions - first)
                seed_mentions.insert_mentions(self.client, shape, first, count)
                _advance(progress, task, count)
            self.written = mentions
            steps = [
                ("validators and their reach", self._validators),
                ("threads, signups, alerts, dead letters", self._others),
                ("closing minutes (buzz_minutes, spike alerts)", self._close),
            ]
            task = progress.add_task("derived tables", total=len(steps))
            for what, step in steps:
                progress.update(task, description=what)
                step()
                _advance(progress, task)
        self.save()

    def _validators(self) -> None:
        assert self.shape is not None
        seed_others.insert_validators(self.client, self.shape)
        seed_mentions.insert_validator_reach(self.client, self.shape, self.written)

    def _others(self) -> None:
        assert self.shape is not None
        for step in (
            seed_others.insert_threads,
            seed_others.insert_signups,
            seed_others.insert_alerts,
            seed_others.insert_health,
        ):
            step(self.client, self.shape, self.shape.end)

    def _close(self) -> None:
        assert self.shape is not None
        through = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
        seed_minutes.close_minutes(self.client, self.shape, through)

    def keep_live(self) -> None:
        """Continue the stream up to now and close the minutes a worker would have closed."""
        assert self.shape is not None
        due = self.shape.mentions + seed_mentions.live_mentions(self.shape, datetime.now(UTC))
        if due > self.written:
            seed_mentions.insert_mentions(self.client, self.shape, self.written, due - self.written)
            self.written = due
            self.save()
        self._close()


SEALING = "buzz.sealed_minutes_refresh"
SEAL_WAIT_SECONDS = 3600


def seal_minutes(client: Client, limit: float = SEAL_WAIT_SECONDS) -> float:
    """Refresh the sealed minutes until every closed minute is sealed, as on a warehouse that
    has been running for a while (the refresh seals one day of minutes per run); seconds taken."""
    from dashboard.queries import sealed

    t0 = time.monotonic()
    with _progress() as progress:
        task = progress.add_task("sealing minutes (buzz.sealed_minutes)", total=None)
        while time.monotonic() - t0 < limit:
            status = sealed.minute_status(client, sealed.EARLIEST, sealed.LATEST, datetime.now(UTC))
            if status is not None and len(status.live) <= sealed.UNSEALED_MINUTES + 2:
                break
            client.command(f"SYSTEM REFRESH VIEW {SEALING}")
            client.command(f"SYSTEM WAIT VIEW {SEALING}")
            done = int(str(client.command("SELECT count() FROM buzz.sealed_minutes FINAL")))
            progress.update(task, completed=done)
            if progress.disable:
                console.print(f"  sealed minutes: {done:,} ({time.monotonic() - t0:.0f} s)")
    return time.monotonic() - t0


def wait_for_merges(client: Client, limit: float = MERGE_WAIT_SECONDS) -> float:
    """Wait until the background merges the seed started are done (at most ``limit`` s)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        running = int(str(client.command("SELECT count() FROM system.merges")))
        if running == 0:
            break
        time.sleep(2)
    return time.monotonic() - t0


def rows_of(result: Any) -> int:
    """Rows a query function returned (a frame, a cascade's nodes, or None)."""
    if result is None:
        return 0
    if hasattr(result, "nodes"):
        return len(result.nodes)
    return len(result)


def time_queries(
    client: Client,
    queries: list[PageQuery],
    runs: int,
    before_page: Callable[[], None] | None = None,
) -> list[Timing]:
    timings: list[Timing] = []
    page = ""
    with _progress() as progress:
        task = progress.add_task("timing page queries", total=len(queries))
        for q in queries:
            if q.page != page:
                if before_page is not None:
                    before_page()
                if progress.disable:
                    console.print(
                        f"  timing the {q.page} page ({progress.tasks[task].elapsed or 0:.0f} s)"
                    )
            page = q.page
            progress.update(task, description=f"{q.page}: {q.query}")
            rows = rows_of(q.run(client))  # warm-up, not timed
            samples = []
            for _ in range(runs):
                t0 = time.perf_counter()
                q.run(client)
                samples.append((time.perf_counter() - t0) * 1000)
            timings.append(Timing(q, percentile(samples, 0.5), percentile(samples, 0.95), rows))
            progress.advance(task)
    return timings


def report(
    timings: list[Timing], mentions: int, runs: int, load: tuple[float, ...], started: datetime
) -> None:
    table = Table(title=f"Dashboard queries at {mentions:,} mentions ({runs} runs each)")
    for col, justify in (
        ("page", "left"),
        ("query", "left"),
        ("parameters", "left"),
        ("p50 ms", "right"),
        ("p95 ms", "right"),
        ("rows", "right"),
        (f"p95 <= {TARGET_MS:g} ms", "center"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for t in timings:
        verdict = "[green]yes[/]" if t.meets_target else "[red]MISS[/]"
        table.add_row(
            t.query.page, t.query.query, t.query.params, f"{t.p50_ms:,.0f}",
            f"{t.p95_ms:,.0f}", f"{t.rows:,}", verdict,
        )  # fmt: skip
    console.print(table)
    misses = [t for t in timings if not t.meets_target]
    console.print(
        f"target: every query p95 <= {TARGET_MS:g} ms; {len(timings) - len(misses)} of "
        f"{len(timings)} meet it"
        + (": misses " + ", ".join(f"{t.query.page}/{t.query.query} ({t.query.params})"
                                    for t in misses) if misses else "")
    )  # fmt: skip
    end = os.getloadavg()
    console.print(
        f"machine: {os.cpu_count()} cores; load average (1/5/15 min) {load[0]:.1f} / "
        f"{load[1]:.1f} / {load[2]:.1f} when timing started, {end[0]:.1f} / {end[1]:.1f} / "
        f"{end[2]:.1f} when it ended; timed {started:%Y-%m-%d %H:%M} to "
        f"{datetime.now(UTC):%H:%M} UTC"
    )


def main(mentions: int = 10_000_000, runs: int = 10, data_dir: Path | None = None) -> int:
    # The dashboard's query modules are Streamlit code: without a running app, Streamlit warns
    # about its caches at import, which says nothing here.
    from streamlit.logger import set_log_level

    set_log_level("error")
    from pipeline.warehouse.local import local_warehouse

    if mentions < 1000:
        console.print("[red]--mentions must be at least 1000[/]")
        return 2
    keep = data_dir is not None
    root = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="buzz-bench-dash-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        with local_warehouse(root / "warehouse", root / "warehouse.log") as url:
            return _run(url, root, mentions, runs)
    except RuntimeError as exc:
        console.print(f"[red]bench dashboard failed: {exc}[/]")
        return 1
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def _run(url: str, root: Path, mentions: int, runs: int) -> int:
    """Seed (or reuse the seed), settle, time every page's queries and print them."""
    from pipeline.bench_dashboard.plan import page_queries
    from pipeline.warehouse.client import get_client
    from pipeline.warehouse.migrate import apply_migrations

    client = get_client(url=url, send_receive_timeout=3600)
    apply_migrations(client)
    campaign = load_campaign()
    seeder = Seeder(client, campaign, root / "seed.json")
    console.print(f"bench dashboard: {mentions:,} mentions; data in {root}")
    sealing = bool(int(str(client.command(f"EXISTS TABLE {SEALING}"))))
    if seeder.load(mentions):
        console.print("reusing the seed already in the data directory")
    else:
        if sealing:  # sealing minutes while the history is being written is wasted work
            client.command(f"SYSTEM STOP VIEW {SEALING}")
        seeder.seed(mentions)
        if sealing:
            client.command(f"SYSTEM START VIEW {SEALING}")
    seeder.keep_live()
    waited = wait_for_merges(client)
    console.print(f"background merges settled after {waited:.0f} s")
    if sealing:
        console.print(f"every closed minute sealed after {seal_minutes(client):.0f} s")
    viewer = get_client(url=url, connect_timeout=3, autogenerate_session_id=False)
    load, started = os.getloadavg(), datetime.now(UTC)
    timings = time_queries(viewer, page_queries(campaign), runs, seeder.keep_live)
    report(timings, mentions, runs, load, started)
    return 0
