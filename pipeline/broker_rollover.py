"""Roll-over of the embedded broker: drop what it holds once the worker has written all of it.

The embedded broker (Tansu, memory storage) never frees a message: it ignores retention and
does not implement DeleteRecords. Its memory grows by 1.5 to 2 KB per message, and every Fetch
lists all the batches a partition holds, so its CPU use grows with them too (docs/operations.md
has the figures). Everything long-lived is in the warehouse and in the sources' checkpoints, so
``buzz up`` empties the broker now and then by restarting it, when nothing would be lost:

1. wait until no client outside ``buzz up`` is connected (a source run by hand could send a
   message after the last check) and the worker is less than MAX_BACKLOG messages behind;
2. stop the sources: each flushes what it sent and saves its checkpoint, then exits;
3. wait until the worker group has committed every message of every partition (committed only
   after the warehouse accepted them); stop the worker(s); check once more;
4. restart the broker, create the topics with the same partitions, start the sources (from
   their checkpoints) and the worker(s) (from the start of the empty topics).

If a step cannot be done (the worker does not catch up within DRAIN_TIMEOUT, a client outside
connects), the roll-over is abandoned before anything is dropped: whatever was stopped is
started again and it is tried again RETRY_AFTER later. Only topics written for outside readers
(``buzz.alerts``, also kept in the warehouse) may hold unread messages when they are dropped.

It happens when the broker's resident memory reaches BUZZ_BROKER_ROLLOVER_MB (checked every
CHECK_EVERY seconds; 0 turns it off), or at once on SIGUSR1 to ``buzz up``. Each step is
printed by ``buzz up`` and appended to ``logs/rollover.log``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psutil
from rich.console import Console
from rich.markup import escape

from pipeline.broker_backlog import Backlog, outside_clients, read_backlog
from pipeline.settings import Settings
from pipeline.supervisor import Child, ChildFailed
from pipeline.topics import ensure_topics

CHECK_EVERY = 30.0  # seconds between two looks at the broker's memory
RETRY_AFTER = 300.0  # seconds before trying again after a roll-over was put off
MAX_BACKLOG = 20_000  # messages: the worker drains ~1,800/s, so about 10 s of catching up
DRAIN_TIMEOUT = 60.0  # seconds the sources may stay stopped while the worker catches up
STOP_DRAIN_TIMEOUT = 30.0  # the same when `buzz up` stops
READY_TIMEOUT = 90.0

Stopping = Callable[[], bool]


class PutOff(Exception):
    """A roll-over that cannot be done now without risk; nothing was dropped."""


class Steps:
    """How long each step of a roll-over took, for its log line."""

    def __init__(self) -> None:
        self.start = self._last = time.monotonic()
        self.took: list[tuple[str, float]] = []

    def done(self, step: str) -> None:
        now = time.monotonic()
        self.took.append((step, now - self._last))
        self._last = now

    def total(self) -> float:
        return time.monotonic() - self.start

    def __str__(self) -> str:
        return ", ".join(f"{step} {secs:.1f} s" for step, secs in self.took)


def due(broker_mb: float, threshold_mb: int, requested: bool) -> str | None:
    """Why a roll-over is due now, or None."""
    if requested:
        return "on request (SIGUSR1)"
    if threshold_mb and broker_mb >= threshold_mb:
        return f"at {threshold_mb} MB (BUZZ_BROKER_ROLLOVER_MB)"
    return None


def command(child: Child) -> str:
    """The ``buzz`` sub-command a child runs: broker, warehouse, worker, dashboard or source."""
    argv = child.argv
    i = argv.index("pipeline") + 1 if "pipeline" in argv else len(argv)
    return argv[i] if i < len(argv) else child.name


class BrokerRollover:
    """Owned by the supervisor when it runs the embedded broker; driven from its watch loop."""

    def __init__(
        self, children: list[Child], settings: Settings, log_dir: Path, console: Console
    ) -> None:
        self.children = children
        self.settings = settings
        self.threshold_mb = settings.broker_rollover_mb
        self.log_path = log_dir / "rollover.log"
        self.console = console
        self.requested = False
        self._next_check = time.monotonic() + CHECK_EVERY
        self._not_before = 0.0

    # -- what the supervisor calls ------------------------------------------------------------
    def request(self) -> None:
        """Roll over at the next tick whatever the memory (SIGUSR1; safe in a signal handler)."""
        self.requested = True

    def tick(self, stopping: Stopping) -> None:
        now = time.monotonic()
        if now < self._next_check and not self.requested:
            return
        self._next_check = now + CHECK_EVERY
        if now < self._not_before and not self.requested:
            return
        why = due(self.broker_mb(), self.threshold_mb, self.requested)
        self.requested = False
        if why is None:
            return
        try:
            self.roll_over(stopping, why)
        except PutOff as exc:
            if stopping():
                self.say(f"broker roll-over abandoned: buzz up is stopping ({exc})")
                return
            self._not_before = time.monotonic() + RETRY_AFTER
            self.say(f"broker roll-over put off: {exc}; trying again in {RETRY_AFTER:.0f} s")

    def drain_for_stop(self, stopping: Stopping) -> None:
        """At `buzz up`'s stop: stop the sources and let the worker write what they sent.

        Without this, what the sources sent in their last seconds is dropped with the broker
        while their checkpoints have moved past it. A second Ctrl-C (``stopping``) skips it.
        """
        if not (self._alive("worker") and self._alive("broker")) or not self._of("source"):
            return
        for child in self._of("source"):
            child.stop()
        self.say("stopping: waiting for the worker to write what the sources sent")
        t0 = time.monotonic()
        try:
            backlog = self._wait_drained(STOP_DRAIN_TIMEOUT, stopping)
        except (PutOff, OSError, TimeoutError) as exc:
            self.say(f"stopping without waiting for the worker: {exc}")
            return
        if backlog.drained:
            self.say(f"stopping: the worker has written everything ({time.monotonic() - t0:.1f} s)")
        else:
            self.say(f"stopping with {backlog.total:,} messages unwritten: {backlog.describe()}")

    # -- the roll-over --------------------------------------------------------------------------
    def roll_over(self, stopping: Stopping, why: str) -> None:
        broker = self._one("broker")
        before = self.broker_mb()
        self.say(f"broker roll-over {why}: broker holds {before:,.0f} MB")
        self._check_outside(broker)
        backlog = self._backlog()
        if backlog.total > MAX_BACKLOG:
            raise PutOff(f"the worker is {backlog.total:,} messages behind")
        sources = [c for c in self._of("source") if c.alive()]
        workers = [c for c in self._of("worker") if c.alive()]
        steps = Steps()
        for child in sources:
            child.stop()
        steps.done("sources stopped")
        try:
            backlog = self._wait_drained(DRAIN_TIMEOUT, stopping)
            if not backlog.drained:
                raise PutOff(
                    f"the worker did not write everything within {DRAIN_TIMEOUT:.0f} s: "
                    f"{backlog.total:,} messages left ({backlog.describe()})"
                )
            steps.done("worker caught up")
            for child in workers:
                child.stop()
            steps.done("worker stopped")
            # The worker may have sent dead letters or status while stopping: check again,
            # and for clients that connected meanwhile, right before the restart.
            backlog = self._backlog()
            if not backlog.drained:
                raise PutOff(f"{backlog.total:,} messages arrived meanwhile ({backlog.describe()})")
            self._check_outside(broker)
        except BaseException:
            if not stopping():  # on the way out `buzz up` stops everything anyway
                self._restart(workers, wait=True)
                self._restart(sources, wait=False)
            raise
        broker.stop()
        self._restart([broker], wait=True)
        ensure_topics(self.settings.bootstrap_servers, self.settings.topic_partitions)
        steps.done("broker restarted")
        self._restart(sources, wait=False)
        paused = steps.total()
        self._restart(workers, wait=True)
        steps.done("worker restarted")
        written = backlog.held - backlog.for_outside
        self.say(
            f"broker rolled over: {before:,.0f} MB -> {self.broker_mb():,.0f} MB; dropped "
            f"{backlog.held:,} messages: {written:,} already written by the worker"
            + (
                f", {backlog.for_outside:,} on buzz.alerts (in the warehouse too)"
                if backlog.for_outside
                else ""
            )
            + f"; sources paused {paused:.1f} s ({steps})"
        )

    # -- helpers -------------------------------------------------------------------------------
    def broker_mb(self) -> float:
        broker = self._one("broker")
        if broker.proc is None or not broker.alive():
            return 0.0
        try:
            return float(psutil.Process(broker.proc.pid).memory_info().rss) / 2**20
        except psutil.Error:
            return 0.0

    def say(self, message: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        self.console.print(f"[dim]{stamp}[/] {escape(message)}", highlight=False)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(f"{stamp}Z {message}\n")

    def _of(self, role: str) -> list[Child]:
        return [c for c in self.children if command(c) == role]

    def _one(self, role: str) -> Child:
        found = self._of(role)
        if not found:
            raise RuntimeError(f"buzz up runs no {role}")
        return found[0]

    def _alive(self, role: str) -> bool:
        return any(c.alive() for c in self._of(role))

    def _backlog(self) -> Backlog:
        try:
            return read_backlog(self.settings.bootstrap_servers)
        except Exception as exc:  # the broker not answering is a reason to wait, not to crash
            raise PutOff(f"cannot read the worker's progress: {exc}") from exc

    def _wait_drained(self, timeout: float, stopping: Stopping) -> Backlog:
        deadline = time.monotonic() + timeout
        while True:
            backlog = self._backlog()
            if backlog.drained or time.monotonic() > deadline or stopping():
                return backlog
            time.sleep(0.5)

    def _check_outside(self, broker: Child) -> None:
        if broker.proc is None:
            return
        ours = {os.getpid()}
        for proc in psutil.Process().children(recursive=True):
            ours.add(proc.pid)
        outside = outside_clients(broker.proc.pid, self.settings.broker_port, ours)
        if outside:
            raise PutOff(
                f"{len(outside)} client(s) outside buzz up are connected to the broker: "
                + ", ".join(outside[:3])
            )

    def _restart(self, children: list[Child], wait: bool) -> None:
        for child in children:
            if child.alive():
                continue
            child.start()
            if wait and child.ready is not None:
                deadline = time.monotonic() + READY_TIMEOUT
                while not child.ready():
                    if not child.alive():
                        raise ChildFailed(child, "exited while restarting after a roll-over")
                    if time.monotonic() > deadline:
                        raise ChildFailed(
                            child, f"was not ready {READY_TIMEOUT:.0f} s after a roll-over"
                        )
                    time.sleep(0.25)
