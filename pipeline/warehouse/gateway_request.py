"""Reading one HTTP request into a ``Statement``: SQL, INSERT data, settings, external tables.

Request bodies are decompressed as they arrive; an INSERT's inline data is spooled to a file and
loaded with ``INSERT ... FROM INFILE`` once the whole body is in, so a client that disconnects
half-way inserts nothing. External data tables (multipart file fields, as clickhouse-connect's
``external_data`` sends them) are spooled the same way and loaded into temporary tables of the
query's connection. Statements of read-only users go through ``gateway_sandbox`` here, before
any of them reaches chDB.
"""

from __future__ import annotations

import base64
import binascii
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, MultipartReader, web

from pipeline.warehouse.gateway_codecs import make_decoder
from pipeline.warehouse.gateway_engine import (
    MAX_SESSION_TIMEOUT,
    READ_ONLY_USERS,
    Engine,
    Statement,
)
from pipeline.warehouse.gateway_errors import (
    BAD_ARGUMENTS,
    CANNOT_DECOMPRESS,
    NOT_IMPLEMENTED,
    QUERY_IS_TOO_LARGE,
    READONLY,
    SYNTAX_ERROR,
    ClickHouseError,
)
from pipeline.warehouse.gateway_exec import ExternalTable
from pipeline.warehouse.gateway_sandbox import check_setting, check_statement
from pipeline.warehouse.gateway_sql import (
    READ_ONLY_KEYWORDS,
    SESSION_KEYWORDS,
    SqlError,
    first_keyword,
    output_format,
    split_insert,
    uses_local_files,
)

MAX_SQL_BYTES = 16 * 1024 * 1024  # statement text (non-INSERT, or INSERT without inline data)
MAX_INSERT_BYTES = 4 * 1024**3  # decompressed inline data of one INSERT, spooled to disk
HEAD_LIMIT = 1024 * 1024  # an INSERT's SQL must end within this many bytes of the stream
AUTHENTICATION_FAILED = 516  # ClickHouse's code; answered with 403 like the server

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


class RequestReader:
    def __init__(self, engine: Engine, spool_dir: Path) -> None:
        self.engine = engine
        self.spool_dir = spool_dir

    async def read(
        self, request: web.Request, params: dict[str, str], spools: list[Path]
    ) -> Statement:
        """The request as a Statement; every file it spooled is appended to ``spools``."""
        if params.get("decompress", "0") in _TRUE or params.get("compress", "0") in _TRUE:
            raise ClickHouseError.make(
                NOT_IMPLEMENTED,
                "ClickHouse's native HTTP compression (compress/decompress=1) is not supported "
                "by the gateway; use Content-Encoding / Accept-Encoding instead",
            )
        files: dict[str, Path] = {}
        # curl sends application/x-www-form-urlencoded by default; like ClickHouse, only a
        # multipart body (clickhouse-connect's form encoding) is read as fields.
        if request.method == "POST" and request.content_type == "multipart/form-data":
            await self._read_form(await request.multipart(), params, files, spools)
            body_chunks: AsyncIterator[bytes] = _empty()
        elif request.method == "POST":
            decoder = make_decoder(request.headers.get("Content-Encoding", ""))
            body_chunks = _decoded(request, decoder)
        else:
            body_chunks = _empty()

        st = self._statement_from_params(request, params)
        if files:
            st.external = self._external(st, params, files)
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
                    split = None  # not routable; chDB's parser reports the syntax error
                    break
                if len(head) > HEAD_LIMIT:
                    raise ClickHouseError.make(
                        QUERY_IS_TOO_LARGE, f"INSERT statement head is too long ({exc})"
                    ) from None

        if split is not None:
            self._check(st, "INSERT", split.head.encode())
            st.insert = split
            spool = await self._spool(head[split.data_start :], stream, spools)
            st.spool_path = str(spool)
            st.keyword = "INSERT"
            return st

        sql = head
        async for chunk in stream:
            sql += chunk
            if len(sql) > MAX_SQL_BYTES:
                raise ClickHouseError.make(
                    QUERY_IS_TOO_LARGE,
                    f"Query is too large (over {MAX_SQL_BYTES} bytes); send data with "
                    "INSERT ... FORMAT",
                )
        if not sql.strip(b" \t\r\n;"):
            raise ClickHouseError.make(SYNTAX_ERROR, "Empty query")
        st.sql = sql
        if st.sandboxed:
            keyword = check_statement(
                sql, self.engine.table_functions, self.engine.limits, self.engine.who(st),
                self._overflow_fixed(st),
            )  # fmt: skip
        else:
            try:
                keyword = first_keyword(sql)
            except SqlError:
                keyword = ""  # chDB's parser decides (gateway_exec.check_parse)
        self._check(st, keyword, sql)
        st.keyword = keyword
        try:
            st.output_format = output_format(sql) or st.default_format
        except SqlError:
            st.output_format = st.default_format
        if (
            st.output_format.lower() == "native"
            and params.get("client_protocol_version", "0") != "0"
        ):
            # chDB writes Native as for protocol 0 (no block info, DateTime without its zone);
            # answering a newer protocol with that would be silently wrong. clickhouse-connect
            # probes with this and goes on with protocol 0.
            raise ClickHouseError.make(
                NOT_IMPLEMENTED,
                "client_protocol_version is not supported by the embedded warehouse: its Native "
                "output is that of protocol 0",
            )
        return st

    def _statement_from_params(self, request: web.Request, params: dict[str, str]) -> Statement:
        user = request_user(request, params)
        readonly_asked = params.get("readonly", "0") != "0"
        sandboxed = self.engine.readonly or user in READ_ONLY_USERS or readonly_asked
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
            read_only=request.method in ("GET", "HEAD") or sandboxed,
            sandboxed=sandboxed,
            stream=params.get("wait_end_of_query", "0") not in _TRUE,
        )
        st.output_format = st.default_format
        if sandboxed and "readonly" in params:
            st.settings["readonly"] = params["readonly"]  # chDB refuses any change: no escape
        try:
            st.session_timeout = min(float(params.get("session_timeout", 60)), MAX_SESSION_TIMEOUT)
        except ValueError:
            raise ClickHouseError.make(BAD_ARGUMENTS, "session_timeout must be a number") from None
        if sandboxed:
            for name, value in st.settings.items():
                who = self.engine.who(st)
                check_setting(name, value, self.engine.limits, who, self._overflow_fixed(st))
        return st

    def _overflow_fixed(self, st: Statement) -> bool:
        return self.engine.readonly or st.user in READ_ONLY_USERS

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
        if st.read_only and keyword not in (READ_ONLY_KEYWORDS | SESSION_KEYWORDS):
            who = self.engine.who(st)
            raise ClickHouseError.make(READONLY, f"{who}: Cannot execute query in readonly mode")

    # Multipart forms and external data ----------------------------------------------------
    async def _read_form(
        self,
        reader: MultipartReader,
        params: dict[str, str],
        files: dict[str, Path],
        spools: list[Path],
    ) -> None:
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or not part.name:
                raise ClickHouseError.make(BAD_ARGUMENTS, "Unnamed or nested form field")
            if part.filename is None:
                params[part.name] = (await part.read(decode=True)).decode("utf-8")
                continue
            files[part.name] = await self._spool(b"", _part_chunks(part), spools)

    def _external(
        self, st: Statement, params: dict[str, str], files: dict[str, Path]
    ) -> list[ExternalTable]:
        if st.sandboxed:
            raise ClickHouseError.make(
                READONLY,
                f"{self.engine.who(st)}: external data tables are not available to read-only "
                "users of the embedded warehouse",
            )
        tables = []
        for name, path in files.items():
            for suffix in ("_format", "_structure", "_types"):
                st.settings.pop(name + suffix, None)
            structure = params.get(f"{name}_structure")
            if not structure and params.get(f"{name}_types"):
                types = params[f"{name}_types"].split(",")
                structure = ", ".join(f"_{i + 1} {t.strip()}" for i, t in enumerate(types))
            if not structure:
                raise ClickHouseError.make(
                    BAD_ARGUMENTS,
                    f"Neither structure nor types have not been provided for external table "
                    f"{name}. Use fields {name}_structure or {name}_types to do so.",
                )
            fmt = params.get(f"{name}_format") or "TabSeparated"
            tables.append(ExternalTable(name, structure, fmt, str(path)))
        return tables

    async def _spool(self, first: bytes, rest: AsyncIterator[bytes], spools: list[Path]) -> Path:
        fd, name = tempfile.mkstemp(prefix="insert-", suffix=".data", dir=self.spool_dir)
        path = Path(name)
        spools.append(path)
        size = 0
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
        return path


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


async def _part_chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk():
        yield bytes(part.decode(chunk))


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
