"""A throw-away embedded warehouse for tools: ``buzz warehouse`` on a free port, ready or failed.

Used by the schema generator and the benchmarks, which each need a warehouse of their own
beside whatever else runs. The child process is stopped when the block ends.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.netutil import free_port


@contextmanager
def local_warehouse(data_dir: Path, log: Path | None = None, timeout: float = 90) -> Iterator[str]:
    """Start ``buzz warehouse`` on ``data_dir`` and yield its URL once it answers ``/ping``.

    The child gets none of the caller's ``BUZZ_*`` settings (it is not the configured
    warehouse); its output goes to ``log`` (default: beside ``data_dir``). Raises RuntimeError
    with the log's tail if it exits or does not answer within ``timeout`` seconds.
    """
    from pipeline.supervisor import Child, _http_ok

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUZZ_")}
    child = Child(
        "warehouse",
        [sys.executable, "-m", "pipeline", "warehouse", "--port", str(port),
         "--data-dir", str(data_dir)],
        log or data_dir.with_name(data_dir.name + ".log"),
        env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        child.start()
        deadline = time.monotonic() + timeout
        while not _http_ok(url + "/ping"):
            if not child.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the warehouse did not start:\n{child.tail()}")
            time.sleep(0.2)
        yield url
    finally:
        child.stop()
