"""Personal data out of what the webhook keeps of a refused body: masking on parsed fields.

A dead letter must help whoever debugs a refused signup without holding the person it was
about. So the body is first *parsed* (JSON, or ``application/x-www-form-urlencoded`` with
``a[b]=`` nesting), and masking works on the fields, never on patterns over raw bytes, which
miss ``maria%40example.org`` and its kin:

- a field whose *name* says it is personal (email, phone, name, address, postal code, birth
  date, IP, ...; matched word by word, so ``given_name``, ``emailAddress`` and ``e-mail`` are,
  ``description`` is not) has every value under it replaced, however deeply nested;
- any other string is decoded before it is looked at: a string that is itself JSON or a form
  body is parsed and masked the same way; otherwise percent-encoding (up to three layers) and
  HTML entities are undone, and an email address or phone number found in the decoded text is
  masked there (the decoded text is what is kept).

A body that cannot be parsed is not kept at all, only its size and SHA-256: with no fields there
is nothing to mask reliably.
"""

from __future__ import annotations

import hashlib
import html
import re
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import orjson

__all__ = [
    "REDACTED",
    "mask_text",
    "parse_form",
    "redact",
    "redact_text",
    "redacted_body",
    "unparsed_body",
]

REDACTED = "[redacted]"
# Words of a field name that mark it as personal data.
_PERSONAL = frozenset({
    "email", "emails", "mail", "phone", "phones", "mobile", "tel", "telephone", "sms", "fax",
    "name", "names", "firstname", "lastname", "fullname", "surname", "given", "family",
    "nickname", "username", "address", "addresses", "street", "city", "locality", "postal",
    "postcode", "zip", "zipcode", "birth", "birthday", "birthdate", "dob", "ip", "ssn", "passport",
})  # fmt: skip
_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w:/.-])\+?\(?\d[\d ().-]{5,}\d(?![\w:])")
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_MAX_DEPTH = 32  # deeper nesting is masked wholesale


def personal_key(key: str) -> bool:
    """True when a field name says its value is about a person (see the module docstring)."""
    return any(w.lower() in _PERSONAL for w in _WORDS.findall(str(key)))


def _mask_phones(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m[0])
        if not 7 <= len(digits) <= 15 or _DATE.fullmatch(m[0].strip()):
            return m[0]
        return REDACTED

    return _PHONE.sub(one, text)


def _decoded(text: str) -> str:
    for _ in range(3):  # a value percent-encoded twice is still the same address
        plain = unquote(text)
        if plain == text:
            break
        text = plain
    return html.unescape(text)


def mask_text(text: str) -> str:
    """``text`` decoded, with email addresses and phone numbers masked (as is when none)."""
    plain = _decoded(text)
    masked = _mask_phones(_EMAIL.sub(REDACTED, plain))
    return masked if masked != plain else text


def _redact_url(url: str, depth: int) -> str:
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    masked = []
    for key, value in pairs:
        kept = REDACTED if personal_key(key) else redact_text(value, depth + 1)
        text = kept if isinstance(kept, str) else orjson.dumps(kept).decode()
        masked.append((mask_text(key), text))
    query = urlencode(masked, safe="[]") if pairs else parts.query
    return urlunsplit(parts._replace(query=query, fragment=mask_text(parts.fragment)))


def redact_text(text: str, depth: int = 0) -> Any:
    """A free-text value with any email or phone in it masked, in whatever encoding it came.

    A string that is JSON or a form body comes back parsed and masked (a dict or a list).
    """
    stripped = text.strip()
    if depth < _MAX_DEPTH:
        if stripped[:1] in ("{", "["):
            try:
                return redact(orjson.loads(stripped), depth + 1)
            except orjson.JSONDecodeError:
                pass
        if " " not in stripped:
            parts = urlsplit(stripped)
            if parts.scheme in ("http", "https") and parts.netloc:
                return _redact_url(stripped, depth)
            form = parse_form(stripped.encode()) if "=" in stripped else None
            if form:
                return redact(form, depth + 1)
    return mask_text(text)


def _wipe(value: Any) -> Any:
    """Every value under a personal field: strings and numbers go, the shape stays."""
    if isinstance(value, dict):
        return {k: _wipe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wipe(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    return REDACTED


def redact(value: Any, depth: int = 0) -> Any:
    """``value`` (parsed JSON or form fields) with personal data masked, shape kept."""
    if depth >= _MAX_DEPTH:
        return _wipe(value)
    if isinstance(value, dict):
        return {
            mask_text(str(k)): _wipe(v) if personal_key(k) else redact(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v, depth + 1) for v in value]
    if isinstance(value, str):
        return redact_text(value, depth)
    return value


_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


def parse_form(body: bytes) -> dict[str, Any] | None:
    """An ``application/x-www-form-urlencoded`` body as fields; None when it is not one.

    ``utm[source]=x`` nests as ``{"utm": {"source": "x"}}``; a repeated field becomes a list.
    """
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return None
    fields: dict[str, Any] = {}
    for name, value in pairs:
        head, _, rest = name.partition("[")
        path = [head, *_BRACKETS.findall("[" + rest)] if rest else [head]
        node = fields
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # a=1&a[b]=2: keep the first, note the clash
                child = node[part] = {"": child}
            node = child
        leaf = path[-1]
        if leaf in node:
            prev = node[leaf]
            node[leaf] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            node[leaf] = value
    return fields


def unparsed_body(body: bytes, media_type: str) -> bytes:
    """What a dead letter keeps of a body that could not be parsed: its size and hash only."""
    return orjson.dumps(
        {
            "body_not_kept": "it could not be parsed, so its personal data could not be masked",
            "content_type": media_type,
            "bytes": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
        }
    )


def redacted_body(fields: Any) -> bytes:
    """Parsed fields, masked, as the JSON a dead letter keeps."""
    return orjson.dumps(redact(fields))
