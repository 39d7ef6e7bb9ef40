"""``buzz up``: starts the whole embedded stack, stops it cleanly, reports a child that dies."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT, buzz_cmd, clean_env, free_port

pytestmark = pytest.mark.stack


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    return clean_env(
        BUZZ_DATA_DIR=str(tmp / "data"),
        BUZZ_BROKER_PORT=str(free_port()),
        BUZZ_WAREHOUSE_PORT=str(free_port()),
        BUZZ_DASHBOARD_PORT=str(free_port()),
        BUZZ_WORKER_WEB_PORT=str(free_port()),
        BUZZ_PII_KEY="test-key",
        BUZZ_SOURCE_DEMO_HISTORY_MINUTES="0.5",  # keep the demo's backfill small here
        PYTHONUNBUFFERED="1",
        COLUMNS="200",
        **extra,
    )


def _start(tmp: Path, *args: str, **extra: str) -> tuple[subprocess.Popen[str], Path]:
    out = tmp / "up.out"
    proc = subprocess.Popen(
        buzz_cmd("up", *args), env=_env(tmp, **extra), cwd=ROOT, text=True,
        stdout=open(out, "w"), stderr=subprocess.STDOUT,  # noqa: SIM115
    )  # fmt: skip
    return proc, out


def _wait_text(proc: subprocess.Popen[str], out: Path, text: str, timeout: float = 150) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = out.read_text()
        if text in content:
            return content
        if proc.poll() is not None:
            pytest.fail(f"buzz up exited with {proc.returncode} before {text!r}:\n{content}")
        time.sleep(0.3)
    proc.kill()
    pytest.fail(f"{text!r} not printed in {timeout}s:\n{out.read_text()}")


def _descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def test_up_starts_everything_and_ctrl_c_leaves_no_orphans(tmp_path: Path) -> None:
    proc, out = _start(tmp_path, "--demo", "--rate", "50")
    text = _wait_text(proc, out, "Dashboard:")
    for part in ("broker", "warehouse", "migrate", "worker", "dashboard", "demo"):
        assert f"✓ {part}" in text, text
    assert "in memory" in text  # the embedded broker's memory warning is shown
    children = _descendants(proc.pid)
    names = " ".join(" ".join(c.cmdline()) for c in children)
    for part in ("broker", "warehouse", "worker", "dashboard", "source run demo"):
        assert part in names
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 0, out.read_text()
    _gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, f"orphans left: {[p.cmdline() for p in alive]}"
    assert "stopped." in out.read_text()


def test_up_reports_a_child_that_dies_with_its_log(tmp_path: Path) -> None:
    proc, out = _start(tmp_path)
    _wait_text(proc, out, "Dashboard:")
    children = _descendants(proc.pid)
    worker = next(c for c in children if "worker" in c.cmdline())
    os.kill(worker.pid, signal.SIGKILL)
    assert proc.wait(60) == 1
    text = out.read_text()
    assert "worker exited unexpectedly with code -9" in text, text
    assert "last lines of" in text and "worker.log" in text
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not [p for p in alive if p.is_running()], "children left running after a failure"


def test_up_refuses_a_bad_setting_with_one_message(tmp_path: Path) -> None:
    proc = subprocess.run(
        buzz_cmd("up"), env=_env(tmp_path, BUZZ_CAMPAIGN_FILE=str(tmp_path / "missing.yaml")),
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "BUZZ_CAMPAIGN_FILE" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
