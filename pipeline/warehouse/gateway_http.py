"""The HTTP side of the gateway: ClickHouse's HTTP interface on aiohttp, chDB calls in threads.

Requests are read by ``gateway_request``. Query results are either produced whole by chDB and
sent in one response (``wait_end_of_query=1``, as clickhouse-connect asks for ordinary queries;
an error then always comes with a proper status), or streamed as chDB produces blocks: the
status and headers go out with the first block, and an error after that is written the way
ClickHouse writes it, as an exception block marked with the response's
``X-ClickHouse-Exception-Tag``, so clients raise it instead of reading a short result.
Responses are compressed when the client asks (``enable_http_compression=1``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import socket
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from pipeline.warehouse.gateway_codecs import content_type, encode_response, stream_encoder
from pipeline.warehouse.gateway_engine import Engine, Statement
from pipeline.warehouse.gateway_errors import NOT_IMPLEMENTED, UNKNOWN_EXCEPTION, ClickHouseError
from pipeline.warehouse.gateway_exec import Outcome
from pipeline.warehouse.gateway_request import MAX_SQL_BYTES, RequestReader

log = logging.getLogger("pipeline.warehouse.gateway")

WORKER_THREADS = 16
_T = TypeVar("_T")
_TRUE = {"1", "true", "True"}


class Gateway:
    def __init__(self, engine: Engine, spool_dir: Path) -> None:
        self.engine = engine
        self.spool_dir = spool_dir
        self.reader = RequestReader(engine, spool_dir)
        self.pool = ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="chdb")
        self.display_name = socket.gethostname()
        self.in_flight = 0

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_SQL_BYTES)
        app.router.add_route("*", "/ping", self.ping)
        app.router.add_route("*", "/", self.query)
        app.router.add_route("*", "/{tail:.*}", self.no_handler)
        return app

    async def ping(self, request: web.Request) -> web.Response:
        return web.Response(text="Ok.\n", content_type="text/html")

    async def no_handler(self, request: web.Request) -> web.Response:
        err = ClickHouseError.make(
            NOT_IMPLEMENTED, f"There is no handle {request.path}. Use / or /ping"
        )
        return self._error(err, "", 404)

    async def query(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        params = {k: request.query.getone(k) for k in request.query}
        query_id = params.get("query_id") or str(uuid.uuid4())
        kind, spools, is_insert = "?", list[Path](), False
        try:
            if request.method not in ("GET", "POST", "HEAD"):
                raise ClickHouseError.make(NOT_IMPLEMENTED, f"HTTP method {request.method}")
            if request.method in ("GET", "HEAD") and "query" not in params:
                return web.Response(text="Ok.\n", content_type="text/html")
            st = await self.reader.read(request, params, spools)
            is_insert = st.insert is not None
            kind = st.keyword or "?"
            outcome = await self._run(self.engine.execute, st)
            if outcome.more is not None:
                return await self._stream(request, params, st, outcome, query_id, kind, started)
            response = self._ok(request, params, outcome, st, query_id)
            log.debug(
                "%s %s %s -> 200 in %.1f ms (query_id=%s)",
                request.remote, request.method, kind, _ms(started), query_id,
            )  # fmt: skip
            return response
        except ClickHouseError as err:
            # Messages about inserts can quote the inserted rows; log only the code then.
            detail = err.name if is_insert else err.message.splitlines()[0][:500]
            log.warning(
                "%s %s %s -> %d in %.1f ms (query_id=%s): %s",
                request.remote, request.method, kind, err.status, _ms(started), query_id, detail,
            )  # fmt: skip
            return self._error(err, query_id)
        except (ConnectionError, asyncio.CancelledError):
            log.warning("%s %s: client went away (query_id=%s)", request.remote, kind, query_id)
            raise
        except Exception as exc:
            log.warning("%s %s: internal error (query_id=%s)", request.remote, kind, query_id,
                        exc_info=True)  # fmt: skip
            internal = ClickHouseError.make(
                UNKNOWN_EXCEPTION, f"Gateway error: {type(exc).__name__}"
            )
            return self._error(internal, query_id)
        finally:
            for spool in spools:
                spool.unlink(missing_ok=True)

    async def _run(self, fn: Callable[..., _T], *args: Any) -> _T:
        self.in_flight += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)
        finally:
            self.in_flight -= 1

    # Responses ----------------------------------------------------------------------------
    def _headers(self, query_id: str) -> dict[str, str]:
        return {
            "X-ClickHouse-Server-Display-Name": self.display_name,
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Timezone": self.engine.timezone,
        }

    def _result_headers(self, outcome: Outcome, st: Statement, query_id: str) -> dict[str, str]:
        summary = {
            "read_rows": str(outcome.rows_read),
            "read_bytes": str(outcome.bytes_read),
            "written_rows": str(outcome.rows_written),
            "written_bytes": str(outcome.bytes_written),
            "total_rows_to_read": str(outcome.rows_read),
            "result_rows": "0",
            "result_bytes": str(len(outcome.body)),
            "elapsed_ns": str(int(outcome.elapsed * 1e9)),
        }
        headers = self._headers(query_id) | {
            "X-ClickHouse-Summary": json.dumps(summary, separators=(",", ":")),
            "Content-Type": content_type(st.output_format),
        }
        # Only a statement with a result set names its format, as ClickHouse does: clients
        # tell a DDL's summary from an empty result by it.
        if outcome.has_result:
            headers["X-ClickHouse-Format"] = st.output_format
        return headers

    def _ok(
        self,
        request: web.Request,
        params: dict[str, str],
        outcome: Outcome,
        st: Statement,
        query_id: str,
    ) -> web.Response:
        headers = self._result_headers(outcome, st, query_id)
        body = outcome.body
        if params.get("enable_http_compression", "0") in _TRUE and body:
            body, codec = encode_response(body, request.headers.get("Accept-Encoding", ""))
            if codec:
                headers["Content-Encoding"] = codec
        return web.Response(body=body, headers=headers)

    async def _stream(
        self,
        request: web.Request,
        params: dict[str, str],
        st: Statement,
        outcome: Outcome,
        query_id: str,
        kind: str,
        started: float,
    ) -> web.StreamResponse:
        assert outcome.more is not None
        tag = secrets.token_hex(8)
        headers = self._result_headers(outcome, st, query_id)
        headers["X-ClickHouse-Exception-Tag"] = tag
        encoder = None
        if params.get("enable_http_compression", "0") in _TRUE:
            encoder = stream_encoder(request.headers.get("Accept-Encoding", ""))
            if encoder is not None:
                headers["Content-Encoding"] = encoder.codec
        response = web.StreamResponse(headers=headers)
        try:
            await response.prepare(request)
            chunk: bytes | None = outcome.body
            while chunk is not None:
                if chunk:
                    await response.write(encoder.compress(chunk) if encoder else chunk)
                try:
                    chunk = await self._run(outcome.more)
                except ClickHouseError as err:
                    log.warning(
                        "%s %s %s -> error after the first block (query_id=%s): %s",
                        request.remote, request.method, kind, query_id,
                        err.message.splitlines()[0][:500],
                    )  # fmt: skip
                    block = _exception_block(f"{err.message} (version {self.engine.version})", tag)
                    await response.write(encoder.compress(block) if encoder else block)
                    break
            if encoder is not None:
                await response.write(encoder.flush())
            await response.write_eof()
        finally:
            await self._run(outcome.close)
        log.debug(
            "%s %s %s -> 200 streamed in %.1f ms (query_id=%s)",
            request.remote, request.method, kind, _ms(started), query_id,
        )  # fmt: skip
        return response

    def _error(
        self, err: ClickHouseError, query_id: str, status: int | None = None
    ) -> web.Response:
        headers = self._headers(query_id) | {
            "X-ClickHouse-Exception-Code": str(err.code),
            "Content-Type": "text/plain; charset=UTF-8",
        }
        text = f"{err.message} (version {self.engine.version})\n"
        return web.Response(status=status or err.status, text=text, headers=headers)


def _exception_block(text: str, tag: str) -> bytes:
    """ClickHouse's marker for an error after the response began (HTTP status already 200)."""
    message = text.encode("utf-8", "replace")
    return (
        b"__exception__\r\n" + tag.encode() + b"\r\n" + message + b"\r\n"
        + f"{len(message)} {tag}".encode() + b"\r\n__exception__\r\n"
    )  # fmt: skip


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000
