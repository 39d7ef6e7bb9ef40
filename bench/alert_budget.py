"""Alert budget: how many alerts of each kind an hour of the demo raises.

    .venv/bin/python bench/alert_budget.py --history 40 --live 60 --rate 20 --seed 7

Starts the embedded broker, warehouse and one worker on free ports in a throw-away data
directory, plays the demo simulator (the same mix as ``buzz up --demo``: ``--history`` minutes of
ordinary past traffic, then ``--live`` minutes with the scripted attacks) as fast as the worker
takes it, with event times ending now, waits until every minute is closed and the periodic jobs
have had their passes, and prints the alerts per kind raised about the live part, per hour. An
alert that updates (an episode) counts once; its updates are listed beside it.

Event times are in the past so minutes close as soon as they are in; wall-clock rules still read
the wall clock (a question is unanswered once asked more than an hour before now), so questions
are flagged only from the first ``history + live - 60`` minutes. Figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kafka import KafkaProducer

from pipeline.campaign import load_campaign
from pipeline.events import Mention, ThreadPost
from pipeline.netutil import can_connect, free_port
from pipeline.simulator.engine import SimParams, Simulator
from pipeline.simulator.source import DEMO_PII_KEY, DemoConfig
from pipeline.topics import MENTIONS, SIGNUPS, THREADS, ensure_topics
from pipeline.warehouse.client import get_client
from pipeline.warehouse.migrate import apply_migrations

ALERTS_SQL = """
SELECT kind, subject, at, alert_id, title, explanation FROM buzz.alerts FINAL
WHERE at >= toDateTime64(%(live)s, 3, 'UTC') ORDER BY at
"""


def start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "pipeline", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def wait(what: str, check: Any, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode}")
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.5)
    raise SystemExit(f"{what} not ready after {timeout:.0f}s")


def simulate(
    history: float, live: float, rate: float, seed: int, spike_every: float | None = None
) -> tuple[list[Any], datetime]:
    cfg = DemoConfig()  # the demo's defaults: the same mix and attacks as `buzz up --demo`
    total = (history + live) * 60
    t0 = datetime.now(UTC) - timedelta(seconds=total)
    params = SimParams(
        seed=seed,
        rate=rate,
        mentions_share=cfg.mentions_share,
        threads_share=cfg.threads_share,
        signups_share=cfg.signups_share,
        first_spike_after=cfg.first_spike_after + history * 60,
        spike_every=cfg.spike_every if spike_every is None else spike_every,
        spike_seconds=cfg.spike_seconds,
        spike_multiplier=cfg.spike_multiplier,
        authors=cfg.authors,
    )
    sim = Simulator(load_campaign(), params, DEMO_PII_KEY, lambda t: t0 + timedelta(seconds=t))
    events = []
    while True:
        t, e = sim.step()
        if t >= total:
            break
        events.append(e)
    return events, t0 + timedelta(minutes=history)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--history", type=float, default=40, help="minutes of ordinary past traffic")
    ap.add_argument("--live", type=float, default=60, help="minutes of the demo proper")
    ap.add_argument("--rate", type=float, default=20)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--spike-every", type=float, help="seconds between attack stories (default: the demo's)"
    )
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    events, live_from = simulate(args.history, args.live, args.rate, args.seed, args.spike_every)
    live_until = live_from + timedelta(minutes=args.live)
    tmp = Path(tempfile.mkdtemp(prefix="buzz-alerts-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUZZ_")}
    wport, bport, hport = free_port(), free_port(), free_port()
    procs = []
    try:
        wh = start(["warehouse", "--port", str(wport), "--data-dir", str(tmp / "wh")],
                   tmp / "warehouse.log", env)  # fmt: skip
        procs.append(wh)
        url = f"http://127.0.0.1:{wport}"
        wait("warehouse", lambda: can_connect("127.0.0.1", wport), wh)
        broker = start(["broker", "--port", str(bport)], tmp / "broker.log", env)
        procs.append(broker)
        wait("broker", lambda: can_connect("127.0.0.1", bport), broker)
        bootstrap = f"127.0.0.1:{bport}"
        apply_migrations(get_client(url=url))
        ensure_topics(bootstrap, 4)
        worker_env = env | {
            "BUZZ_KAFKA_URL": bootstrap, "BUZZ_CLICKHOUSE_URL": url,
            "BUZZ_WORKER_WEB_PORT": str(hport), "BUZZ_DATA_DIR": str(tmp),
        }  # fmt: skip
        worker = start(["worker"], tmp / "worker.log", worker_env)
        procs.append(worker)
        wait("worker", lambda: can_connect("127.0.0.1", hport), worker)
        t_feed = time.monotonic()
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
        for e in events:
            topic = (
                MENTIONS
                if isinstance(e, Mention)
                else THREADS
                if isinstance(e, ThreadPost)
                else SIGNUPS
            )
            producer.send(topic, key=e.key(), value=e.to_json())
        producer.flush()
        producer.close()
        client = get_client(url=url)
        last_minute = (live_until - timedelta(minutes=2)).replace(second=0, microsecond=0)

        def closed() -> bool:
            rows = client.query(
                "SELECT max(through) FROM buzz.stream_progress FINAL WHERE job = 'minutes'"
            ).result_rows
            got = rows[0][0] if rows and rows[0][0] else None
            return got is not None and got.replace(tzinfo=UTC) >= last_minute

        wait("closing every minute", closed, worker, timeout=1800)
        took = time.monotonic() - t_feed
        time.sleep(40)  # the question job runs every 30 s, cascades every 5 s
        rows = client.query(ALERTS_SQL, parameters={"live": live_from.isoformat()}).result_rows
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(20)
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
    per_hour = 60.0 / args.live
    kinds: Counter[str] = Counter()
    updates: Counter[str] = Counter()
    for kind, _subject, _at, _id, _title, explanation in rows:
        kinds[kind] += 1
        with contextlib.suppress(ValueError, TypeError):
            updates[kind] += int(json.loads(explanation).get("episode", {}).get("revision", 1)) - 1
    print(
        f"{len(events):,} events ({args.history:g} min history + {args.live:g} min live at "
        f"{args.rate:g}/s, seed {args.seed}); worker took {took:.0f} s; data in {tmp}"
    )
    print(f"{'kind':<22}{'alerts':>8}{'per hour':>10}{'updates':>9}")
    for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print(f"{kind:<22}{n:>8}{n * per_hour:>10.1f}{updates[kind]:>9}")
    total = sum(kinds.values())
    print(f"{'all':<22}{total:>8}{total * per_hour:>10.1f}{sum(updates.values()):>9}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "events": len(events),
                    "live_minutes": args.live,
                    "seed": args.seed,
                    "per_kind": dict(kinds),
                    "updates": dict(updates),
                    "alerts": [[k, s, str(a), t] for k, s, a, _i, t, _e in rows],
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
