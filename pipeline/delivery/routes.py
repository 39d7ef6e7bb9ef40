"""Routes: where alerts go (campaign file, ``routes:``), which ones, and when.

A route is a Slack incoming webhook, an email address list (SMTP) or a signed webhook. Each one
filters by kind, severity and subject, sends urgent alerts at once and opportunities in a digest
every ``digest_minutes``, and may keep quiet hours in its own time zone.

Secrets (the Slack webhook URL, the SMTP password, the webhook signing secret) are never in the
campaign file: a route names the ``BUZZ_*`` setting that holds each one, and
:func:`resolve_secrets` reads them at start-up; a named setting that is not set stops start-up
with one message naming it.

Quiet hours policy: while a route's quiet hours last, nothing is sent on it except urgent alerts
of at least ``let_through`` severity (``critical`` by default: an attack still wakes someone up;
``none`` holds everything). Everything held goes out in one digest as soon as the quiet hours
end, urgent alerts first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, field_validator

from pipeline.settings import ConfigError, Settings

SEVERITIES = ("info", "warning", "critical")
Severity = Literal["info", "warning", "critical"]
DEFAULT_DIGEST_MINUTES = 30

# The name of a setting that holds a secret: a BUZZ_* variable, like every other setting.
SecretName = Annotated[str, StringConstraints(pattern=r"^BUZZ_[A-Z0-9_]+$")]


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


class QuietHours(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    start: time = Field(description="Local time quiet hours begin, e.g. 22:00")
    end: time = Field(description="Local time they end, e.g. 07:00 (may be the next day)")
    timezone: str = Field(description="IANA time zone, e.g. America/Chicago")
    let_through: Literal["info", "warning", "critical", "none"] = "critical"

    @field_validator("timezone")
    @classmethod
    def _check_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (expected e.g. America/Chicago)") from None
        return v

    def active(self, now: datetime) -> bool:
        """True while quiet hours last (``start`` included, ``end`` not)."""
        local = now.astimezone(ZoneInfo(self.timezone)).time().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # spans midnight

    def lets_through(self, severity: str) -> bool:
        return self.let_through != "none" and severity_rank(severity) >= severity_rank(
            self.let_through
        )


class RouteBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    kinds: list[str] | None = Field(None, description="Alert kinds to send (default: all)")
    min_severity: Severity = "info"
    subjects: list[str] | None = Field(None, description="Subject ids or channels (default: all)")
    digest_minutes: int = Field(DEFAULT_DIGEST_MINUTES, ge=1, le=1440)
    quiet_hours: QuietHours | None = None

    @field_validator("kinds")
    @classmethod
    def _check_kinds(cls, v: list[str] | None) -> list[str] | None:
        # Imported here: the scoring package imports the campaign module, which imports this.
        from pipeline.scoring.alerts import OPPORTUNITY, URGENT

        known = URGENT | OPPORTUNITY
        for kind in v or []:
            if kind not in known:
                raise ValueError(f"unknown alert kind {kind!r} (known: {', '.join(sorted(known))})")
        return v

    def wants(self, kind: str, severity: str, subject: str) -> bool:
        """Whether this route takes an alert (its filters)."""
        return (
            (self.kinds is None or kind in self.kinds)
            and severity_rank(severity) >= severity_rank(self.min_severity)
            and (self.subjects is None or subject in self.subjects)
        )

    def quiet(self, now: datetime) -> bool:
        return self.quiet_hours is not None and self.quiet_hours.active(now)

    def secret_names(self) -> dict[str, str]:
        """Field -> the setting that holds its secret."""
        return {}


class SlackRoute(RouteBase):
    type: Literal["slack"]
    webhook_url: SecretName = Field(description="Setting holding the incoming webhook URL")

    def secret_names(self) -> dict[str, str]:
        return {"webhook_url": self.webhook_url}


class EmailRoute(RouteBase):
    type: Literal["email"]
    to: list[Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(min_length=1)
    sender: str = Field(alias="from", pattern=r"^[^@\s]+@[^@\s]+$")
    host: str = Field(min_length=1, description="SMTP server")
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretName | None = Field(None, description="Setting holding the SMTP password")

    def secret_names(self) -> dict[str, str]:
        return {"password": self.password} if self.password else {}


class WebhookRoute(RouteBase):
    type: Literal["webhook"]
    url: str = Field(description="Where to POST (http or https)")
    secret: SecretName = Field(description="Setting holding the whsec_ signing secret")

    @field_validator("url")
    @classmethod
    def _check_url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected an http(s) URL, got {v!r}")
        return v

    def secret_names(self) -> dict[str, str]:
        return {"secret": self.secret}


Route = Annotated[SlackRoute | EmailRoute | WebhookRoute, Field(discriminator="type")]


def check_route_names(routes: Sequence[RouteBase]) -> None:
    seen: set[str] = set()
    for r in routes:
        if r.name in seen:
            raise ValueError(f"two routes are named {r.name!r}")
        seen.add(r.name)


def resolve_secrets(
    routes: Sequence[RouteBase], settings: Settings
) -> dict[str, dict[str, SecretStr]]:
    """Route name -> field -> secret; a setting named but not set stops start-up, named."""
    out: dict[str, dict[str, SecretStr]] = {}
    for route in routes:
        found: dict[str, SecretStr] = {}
        for field, name in route.secret_names().items():
            value = settings.secret(name)
            if value is None:
                raise ConfigError(
                    f"{name}: not set (route {route.name!r} in the campaign file takes its "
                    f"{field.replace('_', ' ')} from it)"
                )
            found[field] = value
        out[route.name] = found
    return out
