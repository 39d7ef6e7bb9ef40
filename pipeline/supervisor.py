"""``buzz up``: start the stack, wait for each part to be healthy, supervise, stop it cleanly.

Children run in their own process groups (so one Ctrl-C is handled here, in order) and with a
parent-death signal (so they do not outlive a supervisor that is killed). A child that exits is
reported with the last lines of its log and the whole stack is stopped: a half-running pipeline
that looks healthy is worse than a clear failure.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from pipeline.netutil import can_connect, port_in_use
from pipeline.settings import ConfigError, Settings, get_settings
from pipeline.warehouse.client import display_url

if TYPE_CHECKING:
    from pipeline.broker_rollover import BrokerRollover

console = Console(highlight=False)
STOP_TIMEOUT = 15.0


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    started: float = field(default=0.0)
    ready: Callable[[], bool] | None = None  # its health check, to wait for it after a restart

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=self.env, start_new_session=True, preexec_fn=_die_with_parent,
        )  # fmt: skip
        log.close()
        self.started = time.monotonic()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, n: int = 20) -> str:
        try:
            lines = self.log_path.read_text("utf-8", "replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-n:]) or "(log is empty)"

    def stop(self) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass


class ChildFailed(RuntimeError):
    def __init__(self, child: Child, why: str) -> None:
        super().__init__(f"{child.name} {why}")
        self.child = child


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return bool(200 <= r.status < 300)
    except OSError:
        return False


class Supervisor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.children: list[Child] = []
        self.log_dir = settings.data_dir / "logs"
        self.env = dict(os.environ)
        # Children talk to whatever this process chose, embedded or configured.
        self.env["BUZZ_KAFKA_URL"] = settings.bootstrap_servers
        self.env["BUZZ_CLICKHOUSE_URL"] = settings.warehouse_url
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        self.rollover: BrokerRollover | None = None  # empties the embedded broker now and then

    def spawn(self, name: str, *args: str, env: dict[str, str] | None = None) -> Child:
        child = Child(
            name,
            [sys.executable, "-m", "pipeline", *args],
            self.log_dir / f"{name}.log",
            env or self.env,
        )
        child.start()
        self.children.append(child)
        return child

    def wait_ready(
        self, child: Child, check: Callable[[], bool], what: str, timeout: float = 90.0
    ) -> None:
        child.ready = check
        t0 = time.monotonic()
        with console.status(f"starting {child.name}..."):
            while time.monotonic() - t0 < timeout:
                if not child.alive():
                    code = child.proc.returncode if child.proc else "?"
                    raise ChildFailed(child, f"exited with code {code} while starting")
                if check():
                    console.print(
                        f"[green]✓[/] {child.name:<10} {what} "
                        f"[dim]({time.monotonic() - t0:.1f} s)[/]"
                    )
                    return
                time.sleep(0.25)
        raise ChildFailed(child, f"was not ready after {timeout:.0f} s")

    def check_ports(self, demo: bool, workers: int = 1) -> None:
        s = self.settings
        wanted = [("BUZZ_DASHBOARD_PORT", "127.0.0.1", s.dashboard_port)]
        wanted += [
            ("BUZZ_WORKER_WEB_PORT", s.worker_web_host, s.worker_web_port + i)
            for i in range(workers)
        ]
        if s.embedded_broker:
            wanted.append(("BUZZ_BROKER_PORT", s.broker_host, s.broker_port))
        if s.embedded_warehouse:
            wanted.append(("BUZZ_WAREHOUSE_PORT", s.warehouse_host, s.warehouse_port))
        for name, host, port in wanted:
            try:
                taken = port_in_use(host, port)
            except OSError as exc:
                raise ConfigError(
                    f"{name}: cannot listen on {host}:{port}: {exc.strerror}"
                ) from None
            if taken:
                raise ConfigError(
                    f"{name}: port {port} on {host} is already in use "
                    "(is another `buzz up` running?)"
                )

    def start(self, demo: bool, rate: float, workers: int = 1) -> str:
        from pipeline.campaign import load_campaign
        from pipeline.delivery.routes import resolve_secrets

        s = self.settings
        # A bad campaign file, or a route's secret not set, stops start-up here, named.
        resolve_secrets(load_campaign(s.campaign_file).routes, s)
        if not 1 <= workers <= s.topic_partitions:
            raise ConfigError(
                f"--workers: {workers} workers for {s.topic_partitions} partitions "
                f"(BUZZ_TOPIC_PARTITIONS); use 1 to {s.topic_partitions}"
            )
        self.check_ports(demo, workers)
        if s.embedded_broker:
            c = self.spawn("broker", "broker")
            self.wait_ready(
                c,
                lambda: can_connect(s.broker_host, s.broker_port),
                f"embedded Kafka-protocol broker on {s.bootstrap_servers}",
            )
            console.print(
                "  [yellow]![/] the embedded broker keeps messages in memory and forgets them "
                "on stop; it is rolled over when it holds "
                + (f"{s.broker_rollover_mb} MB" if s.broker_rollover_mb else "(never: 0)")
                + " (BUZZ_BROKER_ROLLOVER_MB, docs/operations.md); use Kafka for production"
            )
        else:
            console.print(f"[green]✓[/] broker     using Kafka at {s.bootstrap_servers}")
        if s.embedded_warehouse:
            c = self.spawn("warehouse", "warehouse")
            self.wait_ready(
                c,
                lambda: _http_ok(f"{s.warehouse_url}/ping"),
                f"embedded warehouse (chDB) on {s.warehouse_url}, "
                f"data in {s.data_dir / 'warehouse'}",
            )
        else:
            console.print(
                f"[green]✓[/] warehouse  using ClickHouse at {display_url(s.warehouse_url)}"
            )
        self._migrate()
        self.start_workers(workers)
        c = self.spawn("dashboard", "dashboard")
        url = f"http://localhost:{s.dashboard_port}"
        self.wait_ready(
            c,
            lambda: _http_ok(f"http://127.0.0.1:{s.dashboard_port}/_stcore/health"),
            f"dashboard on {url}",
        )
        if demo:
            c = self.spawn("demo", "source", "run", "demo", "--rate", str(rate))
            time.sleep(1.0)
            if not c.alive():
                raise ChildFailed(c, "exited right after starting")
            console.print(f"[green]✓[/] demo       campaign simulator, {rate:g} events/s")
        if s.embedded_broker:
            # Imported here: the roll-over module builds on this one's Child.
            from pipeline.broker_rollover import BrokerRollover

            self.rollover = BrokerRollover(self.children, s, self.log_dir, console)
        return url

    def start_workers(self, workers: int) -> None:
        """N workers share the partitions; each has its own health page (port + i)."""
        s = self.settings
        for i in range(workers):
            port = s.worker_web_port + i
            name = "worker" if workers == 1 else f"worker-{i + 1}"
            c = self.spawn(name, "worker", env=self.env | {"BUZZ_WORKER_WEB_PORT": str(port)})
            health = f"http://{s.worker_web_host}:{port}/healthz"
            self.wait_ready(
                c,
                functools.partial(_http_ok, health),
                f"stream worker consuming, health on {s.worker_web_host}:{port}",
            )

    def _migrate(self) -> None:
        from pipeline.warehouse.client import get_client
        from pipeline.warehouse.migrate import apply_migrations

        applied = apply_migrations(get_client(self.settings, wait=30))
        note = f"applied {', '.join(applied)}" if applied else "schema up to date"
        console.print(f"[green]✓[/] migrate    {note}")

    def watch(self, stop: Callable[[], bool]) -> None:
        while not stop():
            if self.rollover is not None:
                self.rollover.tick(stop)
            for child in self.children:
                if not child.alive():
                    code = child.proc.returncode if child.proc else "?"
                    raise ChildFailed(child, f"exited unexpectedly with code {code}")
            time.sleep(0.5)

    def stop_all(self, force: Callable[[], bool] = lambda: False) -> None:
        # Reverse start order: sources first, broker last, so the worker can commit. With the
        # embedded broker, the worker first writes what the sources sent (unless ``force``).
        if self.rollover is not None:
            self.rollover.drain_for_stop(force)
        for child in reversed(self.children):
            if child.alive():
                console.print(f"[dim]stopping {child.name}...[/]")
            child.stop()


def main(demo: bool = False, rate: float = 20.0, workers: int = 1) -> int:
    settings = get_settings()
    sup = Supervisor(settings)
    signals = {"stop": 0}

    def on_signal(signum: int, frame: object) -> None:
        signals["stop"] += 1

    def on_usr1(signum: int, frame: object) -> None:
        if sup.rollover is not None:
            sup.rollover.request()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGUSR1, on_usr1)
    code = 0
    try:
        url = sup.start(demo, rate, workers)
        console.print(f"\n[bold]Dashboard:[/] {url}    [dim]logs: {sup.log_dir}/[/]")
        console.print("[dim]Press Ctrl-C to stop.[/]")
        sup.watch(lambda: signals["stop"] > 0)
    except ChildFailed as exc:
        console.print(f"[red]✗ {exc}[/]; last lines of {exc.child.log_path}:")
        console.print(exc.child.tail(), markup=False)
        code = 1
    except ConfigError as exc:
        console.print(f"[red]{exc.message}[/]")
        code = 2
    except Exception as exc:  # start-up failure outside a child (migrations, topics)
        console.print(f"[red]✗ buzz up failed: {exc}[/]")
        code = 1
    finally:
        # A second Ctrl-C stops at once, without waiting for the worker.
        sup.stop_all(force=lambda: signals["stop"] > 1)
        console.print("stopped." if code == 0 else "stopped (see above).")
    return code
