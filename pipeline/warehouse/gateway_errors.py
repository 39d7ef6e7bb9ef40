"""ClickHouse-style errors for the gateway: code, message and the HTTP status ClickHouse uses."""

from __future__ import annotations

import re

# ClickHouse error codes the gateway raises itself (names as in ClickHouse's ErrorCodes.cpp).
SYNTAX_ERROR = 62
NOT_IMPLEMENTED = 48
BAD_ARGUMENTS = 36
UNKNOWN_COMPRESSION_METHOD = 89
CANNOT_DECOMPRESS = 271
READONLY = 164
QUERY_IS_TOO_LARGE = 229
SESSION_NOT_FOUND = 372
SESSION_IS_LOCKED = 373
TOO_MANY_SIMULTANEOUS_QUERIES = 202
SETTING_CONSTRAINT_VIOLATION = 452
ACCESS_DENIED = 497
UNKNOWN_TABLE = 60
UNKNOWN_EXCEPTION = 1002

_NAMES = {
    SYNTAX_ERROR: "SYNTAX_ERROR",
    NOT_IMPLEMENTED: "NOT_IMPLEMENTED",
    BAD_ARGUMENTS: "BAD_ARGUMENTS",
    UNKNOWN_COMPRESSION_METHOD: "UNKNOWN_COMPRESSION_METHOD",
    CANNOT_DECOMPRESS: "CANNOT_DECOMPRESS",
    READONLY: "READONLY",
    QUERY_IS_TOO_LARGE: "QUERY_IS_TOO_LARGE",
    SESSION_NOT_FOUND: "SESSION_NOT_FOUND",
    SESSION_IS_LOCKED: "SESSION_IS_LOCKED",
    TOO_MANY_SIMULTANEOUS_QUERIES: "TOO_MANY_SIMULTANEOUS_QUERIES",
    SETTING_CONSTRAINT_VIOLATION: "SETTING_CONSTRAINT_VIOLATION",
    ACCESS_DENIED: "ACCESS_DENIED",
    UNKNOWN_TABLE: "UNKNOWN_TABLE",
    UNKNOWN_EXCEPTION: "UNKNOWN_EXCEPTION",
}

# ClickHouse's own mapping (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp), by code number.
_STATUS: dict[int, int] = {194: 401}
_STATUS.update(dict.fromkeys((192, 193, 516, 512, 497), 403))
_BAD_REQUEST = (36, 427, 6, 25, 26, 38, 41, 72, 441, 675, 676, 27, 376, 15, 44, 37, 123, 8)
_STATUS.update(dict.fromkeys((*_BAD_REQUEST, 167, 168, 223, 62, 117, 53, 321), 400))
_STATUS.update(dict.fromkeys((60, 46, 47, 50, 56, 81, 115, 152, 63, 73, 336, 78, 511), 404))
_STATUS.update({229: 413, 48: 501, 209: 503, 76: 503, 381: 411, 159: 408, 439: 503, 779: 415})

_CODE = re.compile(r"Code: (\d+)\. ")
_PREFIX = re.compile(r"^(?:Code: \d+\. DB::Exception: )+")
_VERSION = re.compile(r" \(version [^)]*\)")
_REPEATED_NAME = re.compile(r"\(([A-Z_]+)\)(?:\. \(\1\))+$")


def http_status(code: int) -> int:
    return _STATUS.get(code, 500)


class ClickHouseError(Exception):
    """An error to send back the way ClickHouse does: ``Code: N. DB::Exception: ...``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @classmethod
    def make(cls, code: int, text: str) -> ClickHouseError:
        """An error raised by the gateway itself (text without the ``Code:`` prefix)."""
        return cls(code, f"Code: {code}. DB::Exception: {text}. ({_NAMES.get(code, 'UNKNOWN')})")

    @classmethod
    def from_chdb(cls, exc: BaseException) -> ClickHouseError:
        """Wrap a chDB exception, keeping ClickHouse's code and text.

        chDB sometimes nests the same exception two or three times
        (``Code: 73. DB::Exception: Code: 73. DB::Exception: ...``); one level is kept.
        """
        text = str(exc).strip()
        start = text.find("Code: ")
        if start < 0:
            return cls.make(UNKNOWN_EXCEPTION, f"chDB: {text or type(exc).__name__}")
        text = text[start:]
        m = _CODE.match(text)
        code = int(m.group(1)) if m else UNKNOWN_EXCEPTION
        body = _PREFIX.sub("", text)
        while (inner := _PREFIX.match(body)) is not None:
            body = body[inner.end() :]
        body = _REPEATED_NAME.sub(r"(\1)", _VERSION.sub("", body)).rstrip()
        if not body.endswith(")"):
            body += f". ({_NAMES.get(code, 'UNKNOWN')})"
        return cls(code, f"Code: {code}. DB::Exception: {body}")

    @property
    def status(self) -> int:
        return http_status(self.code)

    @property
    def name(self) -> str:
        m = re.search(r"\(([A-Z_]+)\)$", self.message)
        return m.group(1) if m else _NAMES.get(self.code, "UNKNOWN")
