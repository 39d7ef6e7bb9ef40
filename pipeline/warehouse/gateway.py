"""``buzz warehouse``: the embedded warehouse (chDB) served over ClickHouse's HTTP interface.

chDB lets one process open a data directory, so this process owns it and every other client
(clickhouse-connect with default settings, curl, the dashboard) talks to it as to a ClickHouse
server. Modules: ``gateway_http`` (HTTP protocol, responses, streaming), ``gateway_request``
(reading a request), ``gateway_codecs`` (body compression), ``gateway_engine`` (chDB connections
and sessions), ``gateway_exec`` (running one statement), ``gateway_sql`` (lexing),
``gateway_sandbox`` (what read-only users may run), ``gateway_errors``.

Supported:
  - ``/ping`` and ``GET /`` answer ``Ok.``; queries as ``GET /?query=`` (read-only, as in
    ClickHouse), SQL in a POST body, or ``query`` parameter plus body (the two are joined by a
    newline, as ClickHouse does), also form-encoded (``query``/``param_*`` fields).
  - Output in any format chDB can write (``FORMAT x`` in the SQL, else ``default_format``, else
    TabSeparated): Native, TabSeparated, CSVWithNames, JSON, JSONEachRow, Parquet, Arrow, ...
    With ``wait_end_of_query=1`` a result is built whole; otherwise results in Native, TSV, CSV,
    JSONEachRow or RowBinary are streamed block by block, and an error after the first block is
    sent as ClickHouse's exception block (``X-ClickHouse-Exception-Tag``).
  - Parameters (``param_x`` with ``{x:Type}``), ``database``, ``session_id`` (a session keeps
    ``SET``/``USE``/temporary tables; one request at a time per session, ``session_timeout``,
    ``session_check``) and any ClickHouse setting in the URL (applied to that query only, e.g.
    ``insert_deduplication_token``, ``max_execution_time``). Transport-only parameters
    (``wait_end_of_query``, ``send_progress_in_http_headers``, ``query_id``, ...) are accepted.
  - INSERT with inline data in any input format (``INSERT INTO t (cols) FORMAT Native\\n<data>``
    as clickhouse-connect sends it, or ``VALUES``), bodies compressed with lz4 (concatenated
    frames, as clickhouse-connect sends them), zstd, gzip or deflate; responses compressed when
    ``enable_http_compression=1`` and Accept-Encoding allows it. External data tables
    (multipart file fields with ``<name>_structure``/``_types``/``_format``).
  - One statement per request, checked by chDB's own parser before it runs (chDB alone would run
    several, and the first of two even when the second does not parse). Statements without a
    result set answer without ``X-ClickHouse-Format``, as ClickHouse does.
  - ClickHouse errors: ``Code: N. DB::Exception: ...`` body, ``X-ClickHouse-Exception-Code``, and
    the HTTP status ClickHouse uses for that code; headers X-ClickHouse-Query-Id, -Format,
    -Summary, -Timezone, -Server-Display-Name.
  - Users: the user a request names (HTTP basic auth, ``X-ClickHouse-User`` header or ``user``
    parameter, as ClickHouse accepts them) picks its role. ``analyst``, every request of a
    ``--readonly`` process and every request that asks for ``readonly`` are sandboxed
    (``gateway_sandbox``): readonly=2, one read statement, an allow-list of table functions
    (nothing that reads files or reaches the network), setting constraints, and per-query row,
    time and memory limits (``BUZZ_ANALYST_*``). Sessions belong to their user (an analyst's
    ``session_id`` never reaches a writer's connection). Any other user, or none, is the
    read-write default user, so the sink and migrations work as before. In production the
    ClickHouse server's own ``analyst`` user (deploy/clickhouse/users.d) plays this part, with a
    password and the same limits.

Not supported, answered with a ClickHouse-style error rather than a wrong result: ClickHouse's own
compressed HTTP format (``compress=1``/``decompress=1``), ``INTO OUTFILE``/``FROM INFILE`` (they
would touch the gateway's disk), more than one statement per request, brotli bodies, users, roles
and row policies created with SQL, ``system.query_log``. Not emulated: authentication (passwords
are ignored and only the user name picks the role; bind to loopback, and share through the
``analyst`` user or ``--readonly``), progress headers, ``client_protocol_version`` (Native output
is that of protocol 0), cancelling a running query when its client disconnects before the
first block. docs/warehouse.md lists what clients notice.

Failure policy: a bad request gets a ClickHouse error and the server carries on; an unexpected
exception in a request becomes a 500 ``UNKNOWN_EXCEPTION`` and is logged with its traceback; a
port in use or a data directory held by another process stops start-up with one line and exit
code 1; SIGTERM/SIGINT stop accepting requests, let running ones finish for a few seconds, close
chDB and exit 0. Requests are logged one line each at DEBUG, errors at WARNING, never with data.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import shutil
import signal
import socket
import sys
from pathlib import Path

from aiohttp import web

from pipeline.settings import get_settings
from pipeline.warehouse.gateway_engine import Engine
from pipeline.warehouse.gateway_http import Gateway
from pipeline.warehouse.gateway_sandbox import Limits

log = logging.getLogger("pipeline.warehouse.gateway")

SHUTDOWN_GRACE_SECONDS = 10.0
SESSION_SWEEP_SECONDS = 10.0


class StartupError(Exception):
    """Start-up cannot go on; the message is the one line the user sees."""


def main(
    host: str | None = None,
    port: int | None = None,
    data_dir: Path | None = None,
    readonly: bool | None = None,
) -> int:
    settings = get_settings()
    host = host or settings.warehouse_host
    port = port or settings.warehouse_port
    data_dir = Path(data_dir or settings.data_dir / "warehouse").resolve()
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    try:
        sock = _listen(host, port)
        limits = Limits(
            max_result_rows=settings.analyst_max_result_rows,
            max_execution_seconds=settings.analyst_max_execution_seconds,
            max_memory_bytes=settings.analyst_max_memory_bytes,
        )
        engine = _open_engine(data_dir, bool(readonly), limits)
    except StartupError as exc:
        print(f"buzz warehouse: {exc}", file=sys.stderr, flush=True)
        return 1
    try:
        return asyncio.run(_serve(sock, engine, host, port))
    finally:
        engine.close()
        sock.close()


def _listen(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise StartupError(f"cannot resolve warehouse host {host!r}: {exc}") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # allow TIME_WAIT, not a listener
    try:
        sock.bind(addr)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(
                f"port {port} on {host} is already in use; set BUZZ_WAREHOUSE_PORT or --port"
            ) from None
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.setblocking(False)
    return sock


def _open_engine(data_dir: Path, readonly: bool, limits: Limits) -> Engine:
    if readonly and not (data_dir / "metadata").exists():
        raise StartupError(f"--readonly needs an existing warehouse in {data_dir}")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupError(f"cannot create data directory {data_dir}: {exc.strerror}") from None
    status = data_dir / "status"
    if status.exists():
        # chDB holds an flock on ``status`` while a process has the directory open. Probe it
        # before connecting: chDB's own failure is a vague "Error initializing EmbeddedServer".
        with open(status, "rb") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(f, fcntl.LOCK_UN)
            except BlockingIOError:
                raise StartupError(
                    f"data directory {data_dir} is in use by another process (chDB allows one); "
                    "stop it or set BUZZ_DATA_DIR / --data-dir"
                ) from None
    engine = Engine(data_dir, readonly=readonly, limits=limits)
    try:
        engine.open()
    except Exception as exc:
        raise StartupError(f"cannot open the warehouse in {data_dir}: {exc}") from None
    return engine


async def _serve(sock: socket.socket, engine: Engine, host: str, port: int) -> int:
    spool_dir = engine.data_dir / "gateway-spool"
    shutil.rmtree(spool_dir, ignore_errors=True)  # leftovers of a killed process
    spool_dir.mkdir(parents=True, exist_ok=True)
    gateway = Gateway(engine, spool_dir)
    # auto_decompress=False: the gateway decodes bodies itself (aiohttp knows gzip but not lz4,
    # and decoding in one place keeps the size limits on decompressed bytes).
    runner = web.AppRunner(
        gateway.app(), access_log=None, handle_signals=False,
        shutdown_timeout=SHUTDOWN_GRACE_SECONDS, auto_decompress=False,
    )  # fmt: skip
    await runner.setup()
    await web.SockSite(runner, sock).start()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    import chdb

    mode = ", read-only" if engine.readonly else ""
    print(
        f"warehouse (chDB {chdb.__version__}) serving ClickHouse HTTP on http://{host}:{port}, "
        f"data in {engine.data_dir}{mode}",
        flush=True,
    )
    sweeper = asyncio.create_task(_sweep_sessions(gateway))
    await stop.wait()
    log.info("stopping: finishing %d running request(s)", gateway.in_flight)
    sweeper.cancel()
    await runner.cleanup()
    gateway.pool.shutdown(wait=False, cancel_futures=True)
    # Worker threads still inside chDB after the grace period keep their connection; the engine
    # is closed only when none is left, so a slow query cannot crash the shutdown.
    for _ in range(int(SHUTDOWN_GRACE_SECONDS * 10)):
        if gateway.in_flight == 0:
            break
        await asyncio.sleep(0.1)
    if gateway.in_flight:
        # Closing chDB under a running query is unsafe and joining its thread could take
        # forever; MergeTree parts are written atomically, so leaving now loses nothing
        # committed.
        log.warning("exiting with %d query(ies) still running", gateway.in_flight)
        logging.shutdown()
        os._exit(0)
    shutil.rmtree(spool_dir, ignore_errors=True)
    return 0


async def _sweep_sessions(gateway: Gateway) -> None:
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(SESSION_SWEEP_SECONDS)
        with contextlib.suppress(Exception):
            n = await loop.run_in_executor(gateway.pool, gateway.engine.expire_sessions)
            if n:
                log.debug("closed %d idle session(s)", n)
