"""Body codecs and content types for the gateway's HTTP side.

Request bodies may be lz4 (clickhouse-connect's default: one lz4 frame per insert block, frames
concatenated), zstd, gzip or deflate; each is decoded incrementally and frame by frame. Responses
are compressed with the first codec in the client's Accept-Encoding that is available here.
brotli is not installed, so ``br`` bodies get UNKNOWN_COMPRESSION_METHOD.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

import lz4.frame

from pipeline.warehouse.gateway_errors import (
    CANNOT_DECOMPRESS,
    UNKNOWN_COMPRESSION_METHOD,
    ClickHouseError,
)

try:  # Python 3.14 has it built in; before that the backports.zstd package (a dependency here)
    from backports import zstd
except ImportError:  # pragma: no cover - depends on the interpreter
    zstd = None  # type: ignore[assignment]


class _Decoder:
    """Incremental decoder for a body made of one or more concatenated compressed frames."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._dec = make()

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        while data:
            out += self._dec.decompress(data)
            if not self._dec.eof:
                break
            # clickhouse-connect compresses each block as its own lz4 frame; go on with the next.
            data = self._dec.unused_data
            self._dec = self._make()
        return bytes(out)

    def finish(self) -> None:
        if self._dec.fed and not self._dec.eof:
            raise ClickHouseError.make(CANNOT_DECOMPRESS, "Compressed request body is truncated")


class _Tracked:
    """Wraps a decompressor to know whether a frame was started but not finished."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.fed = False

    def decompress(self, data: bytes) -> bytes:
        self.fed = True
        return bytes(self._inner.decompress(data))

    @property
    def eof(self) -> bool:
        return bool(self._inner.eof)

    @property
    def unused_data(self) -> bytes:
        return bytes(self._inner.unused_data or b"")


class _Identity:
    def feed(self, data: bytes) -> bytes:
        return data

    def finish(self) -> None:
        return None


def make_decoder(encoding: str) -> _Identity | _Decoder:
    enc = encoding.strip().lower()
    if enc in ("", "identity"):
        return _Identity()
    if enc == "lz4":
        return _Decoder(lambda: _Tracked(lz4.frame.LZ4FrameDecompressor()))
    if enc in ("gzip", "x-gzip"):
        return _Decoder(lambda: _Tracked(zlib.decompressobj(wbits=31)))
    if enc == "deflate":
        return _Decoder(lambda: _Tracked(zlib.decompressobj(wbits=15)))
    if enc == "zstd" and zstd is not None:
        return _Decoder(lambda: _Tracked(zstd.ZstdDecompressor()))
    raise ClickHouseError.make(
        UNKNOWN_COMPRESSION_METHOD,
        f"Unknown Content-Encoding {encoding!r}; the gateway accepts lz4, zstd, gzip and deflate",
    )


def encode_response(body: bytes, accept: str) -> tuple[bytes, str | None]:
    """Compress ``body`` with the first codec the client accepts that the gateway can produce."""
    wanted = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    for codec in wanted:
        if codec == "lz4":
            return lz4.frame.compress(body), "lz4"
        if codec == "zstd" and zstd is not None:
            return zstd.compress(body), "zstd"
        if codec == "gzip":
            c = zlib.compressobj(wbits=31)
            return c.compress(body) + c.flush(), "gzip"
        if codec == "deflate":
            return zlib.compress(body), "deflate"
    return body, None


class _StreamEncoder:
    """Compresses a response sent in pieces: ``compress`` each piece, then ``flush`` once."""

    def __init__(self, codec: str) -> None:
        self.codec = codec
        self._obj: Any
        if codec == "lz4":
            self._obj = lz4.frame.LZ4FrameCompressor()
            self._head = self._obj.begin()
        elif codec == "zstd" and zstd is not None:
            self._obj = zstd.ZstdCompressor()
            self._head = b""
        else:
            self._obj = zlib.compressobj(wbits=31 if codec == "gzip" else 15)
            self._head = b""

    def compress(self, data: bytes) -> bytes:
        head, self._head = self._head, b""
        return head + bytes(self._obj.compress(data))

    def flush(self) -> bytes:
        head, self._head = self._head, b""
        if self.codec == "zstd":
            return head + bytes(self._obj.flush(zstd.ZstdCompressor.FLUSH_FRAME))
        return head + bytes(self._obj.flush())


def stream_encoder(accept: str) -> _StreamEncoder | None:
    """A streaming compressor for the first codec the client accepts that is available here."""
    for part in accept.split(","):
        codec = part.split(";")[0].strip().lower()
        if codec in ("lz4", "gzip", "deflate") or (codec == "zstd" and zstd is not None):
            return _StreamEncoder(codec)
    return None


def content_type(fmt: str) -> str:
    f = fmt.lower()
    if f.startswith(("tabseparated", "tsv")):
        return "text/tab-separated-values; charset=UTF-8"
    if f.startswith("csv"):
        return "text/csv; charset=UTF-8; header=" + ("present" if "names" in f else "absent")
    if f.startswith(("jsoneachrow", "jsonlines", "ndjson", "jsoncompacteachrow")):
        return "application/x-ndjson; charset=UTF-8"
    if f.startswith("json"):
        return "application/json; charset=UTF-8"
    if f.startswith(("pretty", "vertical", "markdown", "values")):
        return "text/plain; charset=UTF-8"
    if f == "xml":
        return "application/xml; charset=UTF-8"
    return "application/octet-stream"
