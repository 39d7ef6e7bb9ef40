"""Memory soak: run `buzz up --demo` for a while and sample every process's resident memory.

    .venv/bin/python bench/memory_soak.py --minutes 45 --rate 100 --rollover-mb 128

Runs the stack on free ports in a throw-away data directory, samples RSS (psutil) of each child
every --every seconds, the broker's CPU use over each interval, counts the events the warehouse
holds and the broker roll-overs `buzz up` has done, then prints a table over time and the
embedded broker's growth per million events. ``--rollover-mb`` sets BUZZ_BROKER_ROLLOVER_MB
(0 turns roll-overs off, to see the growth without them). Figures only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psutil

from pipeline.netutil import free_port

ROLES = ("broker", "warehouse", "worker", "dashboard", "demo")
# What `buzz up` prints when a roll-over is done (pipeline/broker_rollover.py).
ROLLED_OVER = "broker rolled over"


def role(p: psutil.Process) -> str | None:
    cmd = " ".join(p.cmdline())
    if "tansu" in cmd:
        return "broker"
    if "streamlit" in cmd:
        return "dashboard"
    for r in ("warehouse", "worker"):
        if f"pipeline {r}" in cmd:
            return r
    if "source run demo" in cmd:
        return "demo"
    return None


def events_held(wport: int) -> int:
    """Rows of every raw table and dead letters: every event the pipeline has written."""
    q = urllib.parse.quote(
        "SELECT (SELECT count() FROM buzz.mentions) + (SELECT count() FROM buzz.thread_posts)"
        " + (SELECT count() FROM buzz.signups) + (SELECT count() FROM buzz.dead_letters)"
    )
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{wport}/?query={q}", timeout=10) as r:
            return int(r.read().strip() or 0)
    except (OSError, ValueError):
        return -1


class BrokerCpu:
    """CPU share of the broker process between two samples (it is replaced at a roll-over)."""

    def __init__(self) -> None:
        self.pid = 0
        self.cpu = 0.0
        self.at = time.monotonic()

    def sample(self, broker: psutil.Process | None) -> float:
        now = time.monotonic()
        if broker is None:
            return 0.0
        with contextlib.suppress(psutil.NoSuchProcess):
            t = broker.cpu_times()
            cpu = t.user + t.system
            share = 0.0
            if broker.pid == self.pid and now > self.at:
                share = (cpu - self.cpu) / (now - self.at) * 100
            self.pid, self.cpu, self.at = broker.pid, cpu, now
            return share
        return 0.0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--rate", type=float, default=50)
    ap.add_argument("--every", type=float, default=60)
    ap.add_argument("--rollover-mb", type=int, default=None, help="BUZZ_BROKER_ROLLOVER_MB")
    ap.add_argument(
        "--viewer", action="store_true", help="keep the Now page open in headless chromium"
    )
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="buzz-soak-"))
    wport, dport = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUZZ_")}
    env |= {
        "BUZZ_DATA_DIR": str(tmp), "BUZZ_BROKER_PORT": str(free_port()),
        "BUZZ_WAREHOUSE_PORT": str(wport), "BUZZ_DASHBOARD_PORT": str(dport),
        "BUZZ_WORKER_WEB_PORT": str(free_port()), "PYTHONUNBUFFERED": "1", "COLUMNS": "200",
        # Steady traffic from the start: no backfill of past minutes at full speed.
        "BUZZ_SOURCE_DEMO_HISTORY_MINUTES": "0",
    }  # fmt: skip
    if args.rollover_mb is not None:
        env["BUZZ_BROKER_ROLLOVER_MB"] = str(args.rollover_mb)
    out_path = tmp / "up.out"
    out = open(out_path, "w")  # noqa: SIM115
    up = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "up", "--demo", "--rate", str(args.rate)],
        env=env, stdout=out, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 180
    while "Dashboard:" not in out_path.read_text():
        if up.poll() is not None or time.monotonic() > deadline:
            print(out_path.read_text())
            return 1
        time.sleep(1)
    viewer = None
    if args.viewer:  # a staffer's browser tab: the dashboard refreshes and queries all along
        viewer = subprocess.Popen(
            ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", "--disable-background-networking", "--no-first-run",
             f"--user-data-dir={tmp / 'chromium'}", f"http://127.0.0.1:{dport}/"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    print(
        f"soak: {args.minutes:g} min at {args.rate:g} events/s, data in {tmp}, roll-over "
        + (f"at {args.rollover_mb} MB" if args.rollover_mb is not None else "at the default")
        + (", dashboard open in headless chromium" if viewer else "")
    )
    print(
        f"{'min':>5} {'events':>9} {'rolls':>5} {'broker cpu%':>11} "
        + " ".join(f"{r + ' MB':>13}" for r in ROLES)
    )
    samples: list[tuple[float, int, dict[str, float]]] = []
    broker_cpu = BrokerCpu()
    peak: dict[str, float] = {}
    t0 = time.monotonic()
    try:
        while True:
            rss: dict[str, float] = {}
            broker = None
            for p in psutil.Process(up.pid).children(recursive=True):
                r = role(p)
                if r:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        rss[r] = rss.get(r, 0.0) + p.memory_info().rss / 2**20
                        if r == "broker":
                            broker = p
            cpu = broker_cpu.sample(broker)
            n = events_held(wport)
            rolls = out_path.read_text("utf-8", "replace").count(ROLLED_OVER)
            minute = (time.monotonic() - t0) / 60
            samples.append((minute, n, rss))
            for k, v in rss.items():
                peak[k] = max(peak.get(k, 0.0), v)
            print(
                f"{minute:5.1f} {n:9d} {rolls:5d} {cpu:11.0f} "
                + " ".join(f"{rss.get(r, 0):13.0f}" for r in ROLES),
                flush=True,
            )
            if minute >= args.minutes or up.poll() is not None:
                break
            time.sleep(args.every)
    finally:
        if viewer is not None:
            viewer.terminate()
            viewer.wait(30)
        up.send_signal(signal.SIGINT)
        up.wait(120)
    # Growth of each process from the 5-minute mark (after warm-up) to the end.
    warm = next((s for s in samples if s[0] >= min(5.0, args.minutes / 2)), samples[0])
    last = samples[-1]
    print("\ngrowth from warm-up to end (peak over the run):")
    for r in ROLES:
        a, b = warm[2].get(r, 0), last[2].get(r, 0)
        print(f"  {r:<10} {a:7.0f} MB -> {b:7.0f} MB ({b - a:+.0f} MB; peak {peak.get(r, 0):.0f})")
    events = last[1] - warm[1]
    if events > 0:
        per_m = (last[2].get("broker", 0) - warm[2].get("broker", 0)) / events * 1e6
        print(f"embedded broker growth: {per_m:,.0f} MB per million events ({events:,} events)")
    rolls = [
        line for line in out_path.read_text("utf-8", "replace").splitlines() if ROLLED_OVER in line
    ]
    print(f"\n{len(rolls)} roll-overs:")
    for line in rolls:
        print("  " + line.strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
