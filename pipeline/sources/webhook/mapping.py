"""Signup payloads -> ``Signup`` fields, as pure functions.

Shapes, from the platforms' public documentation:

- **Action Network** webhooks post a JSON array of OSDI objects keyed ``osdi:submission`` /
  ``osdi:signature`` / ``osdi:attendance`` / ``osdi:donation``, each with a ``person``
  (``email_addresses[].address``, ``phone_numbers[].number``, ``postal_addresses[]``),
  ``identifiers`` (``action_network:<uuid>``), ``created_date``, ``_links`` to the action, and
  ``action_network:referrer_data`` (``source``, ``referrer``, ``website``). The person signup
  helper body (``{"person": {...}, "add_tags": [...]}``) is accepted too.
- **Mobilize** event-signup webhooks carry an attendance: ``id``, ``person`` (``email_address``,
  ``phone_number``, ``postal_code``), ``event`` (``id``, ``title``, ``location``), ``created_date``
  (Unix seconds), ``referrer`` (``utm_source`` ... ``utm_term``, ``url``); as ``{"attendance":
  ...}``, ``{"data": ...}`` or bare.
- **Generic form** (JSON, or form-encoded with ``utm[source]=`` nesting): ``email``, ``phone``,
  ``channel``, ``form``, ``referral_code``, ``utm_*`` (or ``utm``), ``postal_code``, ``region``,
  ``country``, optional ``id`` and ``occurred_at``.

Email and phone leave these functions only as keyed HMACs (``pipeline.pii``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import SecretStr

from pipeline.pii import hmac_email, hmac_phone

Fields = dict[str, Any]
Mapper = Callable[[Any, SecretStr, datetime, str], list["Fields | PayloadError"]]

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


class PayloadError(ValueError):
    """This payload (or item of it) is not a signup we can map: 422 and a dead letter."""


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _when(value: Any, now: datetime) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise PayloadError(f"bad date {value[:40]!r}") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return now


def _contact(email: str, phone: str, key: SecretStr) -> Fields:
    if not email and not phone:
        raise PayloadError("no email address or phone number")
    if email and not _EMAIL.fullmatch(email):
        raise PayloadError("email address is not valid")
    if phone and not re.search(r"\d{5,}", re.sub(r"\D", "", phone)):
        raise PayloadError("phone number is not valid")
    return {
        "email_hmac": hmac_email(email, key) if email else None,
        "phone_hmac": hmac_phone(phone, key) if phone else None,
    }


def _postal_prefix(code: str) -> str:
    # Coarse location only: the first three characters (a US ZIP3, a UK postcode area).
    return re.sub(r"\s", "", code).upper()[:3]


def _first(items: Any) -> dict[str, Any]:
    """The primary entry of an OSDI array (``primary: true``), else the first."""
    rows = [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
    return next((r for r in rows if r.get("primary")), rows[0] if rows else {})


# -- Action Network ------------------------------------------------------------------------------
_AN_KINDS = {
    "osdi:submission": ("osdi:form", "web"),
    "osdi:signature": ("osdi:petition", "web"),
    "osdi:attendance": ("osdi:event", "event"),
    "osdi:donation": ("osdi:fundraising_page", "web"),
}


def _an_item(item: Any, key: SecretStr, now: datetime, fallback_id: str) -> Fields:
    if not isinstance(item, dict):
        raise PayloadError("expected an object in the Action Network array")
    kind = next((k for k in _AN_KINDS if k in item), None)
    record = item[kind] if kind else item if "person" in item else None
    if not isinstance(record, dict):
        raise PayloadError("no osdi:submission, osdi:signature, osdi:attendance or person")
    person: dict[str, Any] = record["person"] if isinstance(record.get("person"), dict) else {}
    email = _str(_first(person.get("email_addresses")).get("address"))
    phone = _str(_first(person.get("phone_numbers")).get("number"))
    place = _first(person.get("postal_addresses"))
    idents = [i for i in record.get("identifiers") or [] if isinstance(i, str)]
    uuid = next((i.split(":", 1)[1] for i in idents if i.startswith("action_network:")), "")
    ident = uuid or _str(item.get("idempotency_key")) or fallback_id
    link_name, channel = _AN_KINDS.get(kind or "", ("osdi:form", "web"))
    href = _str(((record.get("_links") or {}).get(link_name) or {}).get("href"))
    form = (
        f"{link_name.removeprefix('osdi:')}:{href.rstrip('/').rsplit('/', 1)[-1]}" if href else ""
    )
    referrer = record.get("action_network:referrer_data") or {}
    referral_code = _str(referrer.get("referrer"))
    return {
        "event_id": f"actionnetwork:{ident}",
        "platform": "actionnetwork",
        "occurred_at": _when(record.get("created_date"), now),
        "channel": "referral" if referral_code else channel,
        "form": form,
        "referral_code": referral_code,
        # Action Network's own tracking: the ?source= code, else the referring website.
        "utm": {"source": _str(referrer.get("source")) or _str(referrer.get("website"))},
        "country": _str(place.get("country")).upper()[:2],
        "region": _str(place.get("region")),
        "postal_prefix": _postal_prefix(_str(place.get("postal_code"))),
        **_contact(email, phone, key),
    }


def map_actionnetwork(
    data: Any, key: SecretStr, now: datetime, fallback_id: str
) -> list[Fields | PayloadError]:
    items = data if isinstance(data, list) else [data]
    out: list[Fields | PayloadError] = []
    for n, item in enumerate(items):
        try:
            out.append(_an_item(item, key, now, f"{fallback_id}-{n}"))
        except PayloadError as exc:
            out.append(PayloadError(f"item {n}: {exc}"))
    return out


# -- Mobilize ------------------------------------------------------------------------------------
def map_mobilize(
    data: Any, key: SecretStr, now: datetime, fallback_id: str
) -> list[Fields | PayloadError]:
    if not isinstance(data, dict):
        return [PayloadError("expected a JSON object")]
    att = data.get("attendance") or data.get("data") or data
    if not isinstance(att, dict) or not isinstance(att.get("person"), dict):
        return [PayloadError("no attendance with a person")]
    person, event = att["person"], att.get("event") or {}
    ref = att.get("referrer") or {}
    query = parse_qs(urlsplit(_str(ref.get("url"))).query)
    code = next((query[k][0] for k in ("referral_code", "referrer", "ref") if k in query), "")
    location = event.get("location") or {}
    ident = att.get("id")
    try:
        return [
            {
                "event_id": f"mobilize:attendance:{ident}" if ident else f"mobilize:{fallback_id}",
                "platform": "mobilize",
                "occurred_at": _when(att.get("created_date"), now),
                "channel": "event",
                "form": f"event:{event['id']}" if event.get("id") else "",
                "referral_code": code,
                "utm": {
                    f: _str(ref.get(f"utm_{f}"))
                    for f in ("source", "medium", "campaign", "content", "term")
                },
                "country": _str(location.get("country")).upper()[:2],
                "region": _str(location.get("region")),
                "postal_prefix": _postal_prefix(_str(person.get("postal_code"))),
                **_contact(
                    _str(person.get("email_address")), _str(person.get("phone_number")), key
                ),
            }
        ]
    except PayloadError as exc:
        return [exc]


# -- generic JSON form ---------------------------------------------------------------------------
def map_form(
    data: Any, key: SecretStr, now: datetime, fallback_id: str
) -> list[Fields | PayloadError]:
    if not isinstance(data, dict):
        return [PayloadError("expected a JSON object")]
    utm: dict[str, Any] = data["utm"] if isinstance(data.get("utm"), dict) else {}
    ident = _str(str(data.get("id") or data.get("submission_id") or ""))
    try:
        return [
            {
                "event_id": f"form:{ident or fallback_id}",
                "platform": "form",
                "occurred_at": _when(data.get("occurred_at") or data.get("submitted_at"), now),
                "channel": _str(data.get("channel")) or "web",
                "form": _str(data.get("form")),
                "referral_code": _str(data.get("referral_code")),
                "utm": {
                    f: _str(data.get(f"utm_{f}")) or _str(utm.get(f))
                    for f in ("source", "medium", "campaign", "content", "term")
                },
                "country": _str(data.get("country")).upper()[:2],
                "region": _str(data.get("region")),
                "postal_prefix": _postal_prefix(_str(data.get("postal_code"))),
                **_contact(_str(data.get("email")), _str(data.get("phone")), key),
            }
        ]
    except PayloadError as exc:
        return [exc]


MAPPERS: dict[str, Mapper] = {
    "actionnetwork": map_actionnetwork,
    "mobilize": map_mobilize,
    "form": map_form,
}
