"""The periodic jobs, run by exactly one worker at a time.

The worker that owns partition 0 of ``buzz.mentions`` in the stream's consumer group runs them.
Kafka hands a partition to one group member at a time, and a rebalance takes it away (calling
:meth:`Coordinator.stop`, which lets the pass in progress finish) before it gives it to another:
so with any number of workers, and across rebalances and crashes, one worker runs the jobs. A
worker that dies mid-pass leaves nothing half-done that matters: every job's outputs are keyed
and de-duplicated, its state is reloaded from the warehouse by the next owner (``Job.load``), and
a pass re-run from that state writes the same rows again.

Failure policy: a pass that fails to read the warehouse (``ReadFailed``) is skipped and the next
pass tries again; a job that raises anything else is logged with its traceback and restarted
after a pause (reloading its state), so one job's bug never stops the others or the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from pipeline.jobs.base import Job
from pipeline.stream.reader import ReadFailed

log = logging.getLogger("pipeline.stream.coordinator")

STOP_GRACE = 10.0  # seconds a pass in progress may take to finish when the worker hands over
RESTART_AFTER = 5.0


class Coordinator:
    def __init__(self, jobs: Sequence[Job]) -> None:
        self.jobs = list(jobs)
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self.passes: dict[str, int] = {j.name: 0 for j in self.jobs}

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    async def __call__(self, start: bool) -> None:
        await (self.start() if start else self.stop())

    async def start(self) -> None:
        if self._tasks:
            return
        self._stopping = asyncio.Event()
        self._tasks = [asyncio.create_task(self._run(j), name=j.name) for j in self.jobs]
        log.info("this worker now runs the periodic jobs: %s", ", ".join(self.passes))

    async def stop(self) -> None:
        if not self._tasks:
            return
        self._stopping.set()
        tasks, self._tasks = self._tasks, []
        _, late = await asyncio.wait(tasks, timeout=STOP_GRACE)
        for t in late:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        log.info("this worker no longer runs the periodic jobs")

    async def _sleep(self, seconds: float) -> bool:
        """Wait, or return True at once when stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()

    async def _run(self, job: Job) -> None:
        while not self._stopping.is_set():
            try:
                await job.load()
                while not self._stopping.is_set():
                    try:
                        await job.run_once()
                        self.passes[job.name] += 1
                    except ReadFailed as exc:
                        log.warning("%s: pass skipped (%s)", job.name, exc)
                    if await self._sleep(job.every):
                        return
            except ReadFailed as exc:
                log.warning("%s: cannot load its state yet (%s)", job.name, exc)
            except Exception:
                log.exception("%s failed; restarting it in %.0f s", job.name, RESTART_AFTER)
            if await self._sleep(RESTART_AFTER):
                return
