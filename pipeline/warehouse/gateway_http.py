"""The HTTP side of the gateway: ClickHouse's HTTP interface on aiohttp, chDB calls in threads.

Request bodies are decompressed as they arrive; an INSERT's inline data is spooled to a file and
loaded with ``INSERT ... FROM INFILE`` once the whole body is in, so a client that disconnects
half-way inserts nothing. Query results are produced whole by chDB and sent in one response
(compressed when the client asks, as clickhouse-connect does), so an error is always reported
with a proper status and never half-way through a result.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import os
import socket
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web

from pipeline.warehouse.gateway_codecs import content_type, encode_response, make_decoder
from pipeline.warehouse.gateway_engine import (
    MAX_SESSION_TIMEOUT,
    READ_ONLY_USERS,
    Engine,
    Outcome,
    Statement,
)
from pipeline.warehouse.gateway_errors import (
    CANNOT_DECOMPRESS,
    NOT_IMPLEMENTED,
    QUERY_IS_TOO_LARGE,
    READONLY,
    SYNTAX_ERROR,
    UNKNOWN_EXCEPTION,
    ClickHouseError,
)
from pipeline.warehouse.gateway_sql import (
    READ_ONLY_KEYWORDS,
    SESSION_KEYWORDS,
    SqlError,
    first_keyword,
    is_multi_statement,
    output_format,
    split_insert,
    uses_local_files,
)

log = logging.getLogger("pipeline.warehouse.gateway")

MAX_SQL_BYTES = 16 * 1024 * 1024  # statement text (non-INSERT, or INSERT without inline data)
MAX_INSERT_BYTES = 4 * 1024**3  # decompressed inline data of one INSERT, spooled to disk
HEAD_LIMIT = 1024 * 1024  # an INSERT's SQL must end within this many bytes of the stream
WORKER_THREADS = 16

# URL parameters the HTTP layer consumes; anything else not ``param_*`` is a ClickHouse setting.
# HTTP-only settings are dropped: they describe this transport, not the query.
_TRANSPORT_PARAMS = frozenset(
    {
        "query", "database", "default_format", "session_id", "session_timeout", "session_check",
        "query_id", "quota_key", "compress", "decompress", "wait_end_of_query", "user", "password",
        "client_protocol_version", "role", "send_progress_in_http_headers", "buffer_size",
        "http_headers_progress_interval_ms", "enable_http_compression", "add_http_cors_header",
        "http_zlib_compression_level", "cancel_http_readonly_queries_on_client_close",
        "http_response_buffer_size", "http_wait_end_of_query", "readonly",
    }
)  # fmt: skip
_TRUE = {"1", "true", "True"}
AUTHENTICATION_FAILED = 516  # ClickHouse's code; answered with 403 like the server


# The gateway ----------------------------------------------------------------------------------
class Gateway:
    def __init__(self, engine: Engine, spool_dir: Path) -> None:
        self.engine = engine
        self.spool_dir = spool_dir
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
        kind, spool, is_insert = "?", None, False
        try:
            if request.method not in ("GET", "POST", "HEAD"):
                raise ClickHouseError.make(NOT_IMPLEMENTED, f"HTTP method {request.method}")
            if request.method in ("GET", "HEAD") and "query" not in params:
                return web.Response(text="Ok.\n", content_type="text/html")
            st, spool = await self._read_statement(request, params)
            is_insert = st.insert is not None
            kind = "INSERT" if is_insert else (first_keyword(st.sql.encode()) or "?")
            self.in_flight += 1
            try:
                loop = asyncio.get_running_loop()
                outcome = await loop.run_in_executor(self.pool, self.engine.execute, st)
            finally:
                self.in_flight -= 1
            fmt = st.default_format
            if not is_insert:
                fmt = output_format(st.sql.encode()) or fmt
            response = self._ok(request, params, outcome, fmt, query_id)
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
            if spool is not None:
                spool.unlink(missing_ok=True)

    # Reading a request --------------------------------------------------------------------
    async def _read_statement(
        self, request: web.Request, params: dict[str, str]
    ) -> tuple[Statement, Path | None]:
        if params.get("decompress", "0") in _TRUE or params.get("compress", "0") in _TRUE:
            raise ClickHouseError.make(
                NOT_IMPLEMENTED,
                "ClickHouse's native HTTP compression (compress/decompress=1) is not supported "
                "by the gateway; use Content-Encoding / Accept-Encoding instead",
            )
        ctype = request.content_type
        # curl sends application/x-www-form-urlencoded by default; like ClickHouse, only a
        # multipart body (clickhouse-connect's form encoding) is read as fields.
        if request.method == "POST" and ctype == "multipart/form-data":
            form = await request.post()
            for key, value in form.items():
                if not isinstance(value, str):
                    raise ClickHouseError.make(
                        NOT_IMPLEMENTED,
                        f"External data ({key!r}) is not supported by the gateway; "
                        "load it into a table first",
                    )
                params[key] = value
            body_chunks: AsyncIterator[bytes] = _empty()
        elif request.method == "POST":
            decoder = make_decoder(request.headers.get("Content-Encoding", ""))
            body_chunks = _decoded(request, decoder)
        else:
            body_chunks = _empty()

        st = self._statement_from_params(request, params)
        query_param = params.get("query", "")
        stream = _prefixed((query_param + "\n").encode() if query_param else b"", body_chunks)
        head = b""
        while True:
            chunk = await _next(stream)
            eof = chunk is None
            head += chunk or b""
            try:
                # Cheap to repeat: lexing stops at the first token of a non-INSERT, and at
                # FORMAT/VALUES of an INSERT, so binary data is never scanned.
                split = split_insert(head, complete=eof)
                break
            except SqlError as exc:
                if eof:
                    split = None  # not routable; chDB will report the syntax error
                    break
                if len(head) > HEAD_LIMIT:
                    raise ClickHouseError.make(
                        QUERY_IS_TOO_LARGE, f"INSERT statement head is too long ({exc})"
                    ) from None

        if split is not None:
            self._check(st, "INSERT", split.head.encode())
            st.insert = split
            spool = await self._spool(head[split.data_start :], stream)
            st.spool_path = str(spool)
            return st, spool

        sql = head
        async for chunk in stream:
            sql += chunk
            if len(sql) > MAX_SQL_BYTES:
                raise ClickHouseError.make(
                    QUERY_IS_TOO_LARGE,
                    f"Query is too large (over {MAX_SQL_BYTES} bytes); send data with "
                    "INSERT ... FORMAT",
                )
        try:
            st.sql = sql.decode("utf-8")
        except UnicodeDecodeError:
            raise ClickHouseError.make(SYNTAX_ERROR, "Query is not valid UTF-8") from None
        try:
            keyword = first_keyword(sql)
            if not keyword and not sql.strip(b" \t\r\n;"):
                raise ClickHouseError.make(SYNTAX_ERROR, "Empty query")
            if is_multi_statement(sql):
                raise ClickHouseError.make(SYNTAX_ERROR, "Multi-statements are not allowed")
        except SqlError:
            keyword = first_keyword(sql.split(b"'", 1)[0]) if b"'" in sql else ""
        self._check(st, keyword, sql)
        st.keyword = keyword
        return st, None

    def _statement_from_params(self, request: web.Request, params: dict[str, str]) -> Statement:
        user = request_user(request, params)
        st = Statement(
            user=user,
            params={k[6:]: v for k, v in params.items() if k.startswith("param_")},
            settings={
                k: v
                for k, v in params.items()
                if k not in _TRANSPORT_PARAMS and not k.startswith("param_")
            },
            database=params.get("database") or None,
            default_format=params.get("default_format") or "TabSeparated",
            session_id=params.get("session_id") or None,
            session_check=params.get("session_check", "0") in _TRUE,
            read_only=(
                request.method in ("GET", "HEAD")
                or params.get("readonly", "0") != "0"
                or user in READ_ONLY_USERS
            ),
        )
        if (self.engine.readonly or user in READ_ONLY_USERS) and "readonly" in params:
            st.settings["readonly"] = params["readonly"]  # chDB refuses any change: no escape
        try:
            st.session_timeout = min(float(params.get("session_timeout", 60)), MAX_SESSION_TIMEOUT)
        except ValueError:
            raise ClickHouseError.make(36, "session_timeout must be a number") from None
        return st

    def _check(self, st: Statement, keyword: str, sql: bytes) -> None:
        try:
            clause = uses_local_files(sql)
        except SqlError:
            clause = None
        if clause:
            raise ClickHouseError.make(
                NOT_IMPLEMENTED,
                f"{clause} reads or writes files on the client; over HTTP, send the data in "
                "the request body or read the response instead",
            )
        if (self.engine.readonly or st.read_only) and keyword not in (
            READ_ONLY_KEYWORDS | SESSION_KEYWORDS
        ):
            user = "buzz.readonly" if self.engine.readonly else st.user
            raise ClickHouseError.make(READONLY, f"{user}: Cannot execute query in readonly mode")

    async def _spool(self, first: bytes, rest: AsyncIterator[bytes]) -> Path:
        fd, name = tempfile.mkstemp(prefix="insert-", suffix=".data", dir=self.spool_dir)
        path = Path(name)
        size = 0
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(first)
                size += len(first)
                async for chunk in rest:
                    size += len(chunk)
                    if size > MAX_INSERT_BYTES:
                        raise ClickHouseError.make(
                            QUERY_IS_TOO_LARGE,
                            f"INSERT data over {MAX_INSERT_BYTES} bytes; split it into batches",
                        )
                    f.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path

    # Responses ----------------------------------------------------------------------------
    def _headers(self, query_id: str) -> dict[str, str]:
        return {
            "X-ClickHouse-Server-Display-Name": self.display_name,
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Timezone": self.engine.timezone,
        }

    def _ok(
        self,
        request: web.Request,
        params: dict[str, str],
        outcome: Outcome,
        fmt: str,
        query_id: str,
    ) -> web.Response:
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
            "X-ClickHouse-Format": fmt,
            "X-ClickHouse-Summary": json.dumps(summary, separators=(",", ":")),
            "Content-Type": content_type(fmt),
        }
        body = outcome.body
        if params.get("enable_http_compression", "0") in _TRUE and body:
            body, codec = encode_response(body, request.headers.get("Accept-Encoding", ""))
            if codec:
                headers["Content-Encoding"] = codec
        return web.Response(body=body, headers=headers)

    def _error(
        self, err: ClickHouseError, query_id: str, status: int | None = None
    ) -> web.Response:
        headers = self._headers(query_id) | {
            "X-ClickHouse-Exception-Code": str(err.code),
            "Content-Type": "text/plain; charset=UTF-8",
        }
        text = f"{err.message} (version {self.engine.version})\n"
        return web.Response(status=status or err.status, text=text, headers=headers)


def request_user(request: web.Request, params: dict[str, str]) -> str:
    """The ClickHouse user a request names: HTTP basic auth, ``X-ClickHouse-User`` or ``user``.

    Only the name is used (passwords are not checked, see the gateway docstring); it picks the
    role: ``analyst`` is read-only, anyone else (or no one) is the read-write default user.
    """
    auth = request.headers.get("Authorization", "")
    if auth[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ClickHouseError(
                AUTHENTICATION_FAILED,
                f"Code: {AUTHENTICATION_FAILED}. DB::Exception: Malformed basic authorization "
                "header. (AUTHENTICATION_FAILED)",
            ) from None
        name = decoded.partition(":")[0]
        if name:
            return name
    return request.headers.get("X-ClickHouse-User") or params.get("user") or "default"


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000


async def _empty() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator


async def _decoded(request: web.Request, decoder: Any) -> AsyncIterator[bytes]:
    while True:
        chunk = await request.content.readany()
        if not chunk:
            break
        try:
            out = decoder.feed(chunk)
        except ClickHouseError:
            raise
        except Exception as exc:
            raise ClickHouseError.make(
                CANNOT_DECOMPRESS, f"Cannot decompress request body: {exc}"
            ) from None
        if out:
            yield out
    decoder.finish()


async def _prefixed(prefix: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if prefix:
        yield prefix
    async for chunk in rest:
        yield chunk


async def _next(stream: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await stream.__anext__()
    except StopAsyncIteration:
        return None
