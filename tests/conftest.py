"""Shared fixtures: the real embedded broker and warehouse, started as child processes.

Tests that need them are marked ``stack`` automatically by using these fixtures. Every process
started here is stopped at the end of the session, and ports are picked free so runs never clash.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.netutil import free_port

ROOT = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = ROOT.parent / "shared" / "fixtures"


def buzz_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline", *args]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUZZ_")}
    env.update(extra)
    return env


class Child:
    """A child process with its output in a log file, stopped by SIGTERM then SIGKILL."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str]) -> None:
        self.log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            args,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )

    def log_tail(self, n: int = 40) -> str:
        lines = self.log_path.read_text("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


def table_cells(out: str, columns: int, header: str) -> list[list[str]]:
    """The cells of every body row of a table rich printed (box-drawing layout) with
    ``columns`` columns whose first header is ``header``."""
    rows = []
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) == columns + 2 and cells[1] and cells[1] != header:  # borders outside
            rows.append(cells[1 : columns + 1])
    return rows


def wait_for(check, what: str, child: Child, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {child.proc.returncode}:\n{child.log_tail()}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} not ready after {timeout}s:\n{child.log_tail()}")


def _ping(url: str) -> bool:
    with urllib.request.urlopen(url + "/ping", timeout=2) as r:
        return bool(r.status == 200)


def _port_open(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def start_warehouse(tmp: Path, port: int | None = None, *extra: str) -> tuple[Child, str]:
    port = port or free_port()
    child = Child(
        buzz_cmd("warehouse", "--port", str(port), "--data-dir", str(tmp / "warehouse"), *extra),
        tmp / f"warehouse-{port}.log",
        clean_env(),
    )
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _ping(url), "buzz warehouse", child)
    return child, url


def start_broker(tmp: Path) -> tuple[Child, str]:
    port = free_port()
    child = Child(buzz_cmd("broker", "--port", str(port)), tmp / "broker.log", clean_env())
    wait_for(lambda: _port_open(port), "buzz broker", child)
    return child, f"127.0.0.1:{port}"


@pytest.fixture(scope="session")
def warehouse_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a running embedded warehouse (``buzz warehouse``) on a fresh data directory."""
    child, url = start_warehouse(tmp_path_factory.mktemp("wh"))
    yield url
    child.stop()


@pytest.fixture(scope="session")
def migrated_warehouse(warehouse_url: str) -> str:
    """The same warehouse with every migration applied."""
    from pipeline.warehouse.client import get_client
    from pipeline.warehouse.migrate import apply_migrations

    apply_migrations(get_client(url=warehouse_url))
    return warehouse_url


@pytest.fixture(scope="session")
def broker_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """bootstrap servers of a running embedded broker (``buzz broker``)."""
    child, url = start_broker(tmp_path_factory.mktemp("broker"))
    yield url
    child.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    stack_fixtures = {"warehouse_url", "migrated_warehouse", "own_warehouse", "broker_url", "stack"}
    for item in items:
        if stack_fixtures & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.stack)


@pytest.fixture(scope="module")
def own_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated warehouse of this test module's own, for tests that empty or fill tables."""
    from pipeline.warehouse.client import get_client
    from pipeline.warehouse.migrate import apply_migrations

    child, url = start_warehouse(tmp_path_factory.mktemp("own-wh"))
    apply_migrations(get_client(url=url))
    yield url
    child.stop()


@pytest.fixture
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No BUZZ_* variables and no stray .env: the test runs in its own empty directory."""
    from pipeline.settings import get_settings

    for key in [k for k in os.environ if k.startswith("BUZZ_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
