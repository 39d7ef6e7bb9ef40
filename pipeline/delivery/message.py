"""What a delivered alert says: one alert, or a digest of several, for each channel.

Plain functions from stored alerts to a Slack Block Kit message, an email (plain text and HTML)
and a webhook payload. Every message carries the alert's title, the numbers behind it in words,
example posts and a link to the alert on the dashboard. Text from the world (posts, names) is
escaped for each format, so a post cannot add links or markup to a message.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import orjson

KIND_LABELS = {
    "attack": "Attack",
    "spike": "Spike",
    "coordinated": "Coordinated posting",
    "signup_surge": "Signup surge",
    "cascade": "Validator post taking off",
    "validator_first": "New validator",
    "golden_thread": "Golden thread",
    "unanswered_question": "Unanswered question",
}
DIGEST_LISTED = 20  # alerts listed one by one in a digest; the rest are counted, with a link
TEXT_CHARS = 280


@dataclass(frozen=True)
class StoredAlert:
    """An alert as ``buzz.alerts`` holds it (explanation parsed)."""

    alert_id: str
    kind: str
    subject: str
    severity: str
    title: str
    at: datetime
    explanation: dict[str, Any]
    example_urls: tuple[str, ...]
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "kind": self.kind,
            "subject": self.subject,
            "severity": self.severity,
            "title": self.title,
            "at": self.at.isoformat(),
            "explanation": self.explanation,
            "example_urls": list(self.example_urls),
            "created_at": self.created_at.isoformat(),
        }


def parse_explanation(raw: str) -> dict[str, Any]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Example:
    text: str
    author: str
    url: str


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(why: dict[str, Any], key: str, fmt: str, top: int = 3) -> str:
    found = [d for d in why.get(key) or [] if isinstance(d, dict) and d.get("item")]
    return ", ".join(
        fmt.format(str(d["item"]).lstrip("#@")) + f" ({d.get('spike_posts', '?')} posts)"
        for d in found[:top]
    )


def summary_lines(a: StoredAlert) -> list[str]:
    """The numbers behind the alert, in plain words (nothing missing is shown as None)."""
    e = a.explanation
    lines: list[str] = []
    if a.kind in ("spike", "attack"):
        s, why = _d(e.get("spike")), _d(e.get("why"))
        if s.get("mentions") is not None and s.get("expected") is not None:
            line = f"{s['mentions']} mentions a minute vs {float(s['expected']):.1f} usual"
            if s.get("negative_share") is not None:
                line += f", {float(s['negative_share']):.0%} negative"
            lines.append(line)
        for key, label, fmt in (
            ("hashtags", "Hashtags", "#{}"),
            ("terms", "Words", "“{}”"),
            ("links", "Links", "{}"),
            ("authors", "People", "@{}"),
        ):
            shown = _items(why, key, fmt)
            if shown:
                lines.append(f"{label}: {shown}")
    elif a.kind == "cascade":
        reach = _d(e.get("reach"))
        figures = [
            (reach.get("amplifiers"), "people reshared it"),
            (reach.get("cascade_audience"), "people could see it"),
            (reach.get("depth"), "hops deep"),
        ]
        shown = ", ".join(f"{v:,} {label}" for v, label in figures if isinstance(v, int))
        if shown:
            lines.append(shown)
    elif a.kind == "golden_thread":
        m = _d(e.get("metrics"))
        if "transactions" in m and "participants" in m:
            lines.append(f"{m['transactions']} real exchanges among {m['participants']} people")
    elif a.kind == "unanswered_question":
        q = _d(e.get("question"))
        if q.get("text"):
            lines.append(f"“{' '.join(str(q['text']).split())[:TEXT_CHARS]}”")
        if e.get("waited_minutes") is not None:
            lines.append(f"Waiting {e['waited_minutes']} min for an answer")
    elif a.kind == "signup_surge" and "signups" in e and "expected" in e:
        lines.append(f"{e['signups']} signups in a minute vs {float(e['expected']):.1f} usual")
    return lines


def examples(a: StoredAlert, limit: int = 3) -> list[Example]:
    """Example posts: a spike's own examples (with text), else the alert's links."""
    out: list[Example] = []
    for ex in _d(a.explanation.get("why")).get("examples") or []:
        if isinstance(ex, dict) and ex.get("url"):
            text = " ".join(str(ex.get("text", "")).split())[:TEXT_CHARS]
            out.append(Example(text, str(ex.get("author", "")).lstrip("@"), str(ex["url"])))
    known = {e.url for e in out}
    out += [Example("", "", u) for u in a.example_urls if u not in known]
    return out[:limit]


def alert_link(dashboard: str, alert_id: str) -> str:
    return f"{dashboard}/alerts?{urlencode({'alert': alert_id})}"


def alerts_link(dashboard: str) -> str:
    return f"{dashboard}/alerts?state=open"


def _slack(text: str) -> str:
    """Text from the world, safe inside Slack mrkdwn (no links, mentions or markup)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for ch in "*_~`":
        text = text.replace(ch, "\u200b" + ch)  # a zero-width space stops the markup
    return text


def _slack_url(url: str) -> str:
    """A URL inside ``<url|label>``: its own ``|`` and ``>`` would end it early."""
    return url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}


@dataclass(frozen=True)
class Message:
    """One message to one route: a single alert, or a digest of several."""

    alerts: Sequence[StoredAlert]
    digest: bool
    route: str
    dashboard: str
    names: Mapping[str, str] = field(default_factory=dict)  # subject id -> name staff know
    timezone: str = "UTC"

    # ---- shared pieces ---------------------------------------------------------------
    def _label(self, a: StoredAlert) -> str:
        kind = KIND_LABELS.get(a.kind, a.kind.replace("_", " ").capitalize())
        return f"{kind} · {self.names.get(a.subject, a.subject)}"

    def _when(self, at: datetime) -> str:
        local = at.astimezone(ZoneInfo(self.timezone))
        return local.strftime("%b %-d, %H:%M ") + (local.tzname() or self.timezone)

    def subject_line(self) -> str:
        if not self.digest:
            a = self.alerts[0]
            return f"[{a.severity.upper()}] {self._label(a)}: {a.title}"[:200]
        counts = Counter(KIND_LABELS.get(a.kind, a.kind).lower() for a in self.alerts)
        what = ", ".join(f"{n} {k}" for k, n in counts.most_common())
        return f"Campaign buzz digest: {len(self.alerts)} alerts ({what})"[:200]

    def _listed(self) -> tuple[list[StoredAlert], int]:
        shown = list(self.alerts[:DIGEST_LISTED])
        return shown, len(self.alerts) - len(shown)

    # ---- plain text and HTML (email) ---------------------------------------------------
    def text(self) -> str:
        if not self.digest:
            a = self.alerts[0]
            lines = [self._label(a), a.title, f"When: {self._when(a.at)}", ""]
            lines += summary_lines(a)
            exs = examples(a)
            if exs:
                lines += ["", "Posts:"]
                lines += [
                    f"- {ex.text} (@{ex.author}) {ex.url}" if ex.text else f"- {ex.url}"
                    for ex in exs
                ]
            lines += ["", f"On the dashboard: {alert_link(self.dashboard, a.alert_id)}"]
            return "\n".join(lines) + "\n"
        shown, more = self._listed()
        lines = [self.subject_line(), ""]
        for a in shown:
            lines += [
                f"- {self._label(a)} ({self._when(a.at)}): {a.title}",
                f"  {alert_link(self.dashboard, a.alert_id)}",
            ]
        if more:
            lines.append(f"... and {more} more: {alerts_link(self.dashboard)}")
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        esc = html.escape
        if not self.digest:
            a = self.alerts[0]
            parts = [
                f"<p><strong>{esc(self._label(a))}</strong> &middot; {esc(self._when(a.at))}</p>",
                f"<h2>{esc(a.title)}</h2>",
                *(f"<p>{esc(line)}</p>" for line in summary_lines(a)),
            ]
            exs = examples(a)
            if exs:
                items = "".join(
                    f"<li>{esc(ex.text)} {'(@' + esc(ex.author) + ') ' if ex.author else ''}"
                    f'<a href="{esc(ex.url)}">{esc(ex.url)}</a></li>'
                    for ex in exs
                )
                parts.append(f"<p>Posts:</p><ul>{items}</ul>")
            link = esc(alert_link(self.dashboard, a.alert_id))
            parts.append(f'<p><a href="{link}">Open on the dashboard</a></p>')
            return "<html><body>" + "".join(parts) + "</body></html>"
        shown, more = self._listed()
        items = "".join(
            f"<li><strong>{esc(self._label(a))}</strong> ({esc(self._when(a.at))}): "
            f'<a href="{esc(alert_link(self.dashboard, a.alert_id))}">{esc(a.title)}</a></li>'
            for a in shown
        )
        tail = (
            f'<p>&hellip; and {more} more <a href="{esc(alerts_link(self.dashboard))}">'
            "on the dashboard</a></p>"
            if more
            else ""
        )
        return (
            f"<html><body><h2>{esc(self.subject_line())}</h2><ul>{items}</ul>{tail}</body></html>"
        )

    # ---- Slack Block Kit ----------------------------------------------------------------
    def slack(self) -> tuple[str, list[dict[str, Any]]]:
        """(fallback text for notifications, blocks)."""
        if not self.digest:
            a = self.alerts[0]
            blocks: list[dict[str, Any]] = [
                {"type": "header", "text": {"type": "plain_text", "text": self._label(a)[:150]}},
                _section(f"*{_slack(a.title)}*\n{a.severity} · {_slack(self._when(a.at))}"),
            ]
            lines = summary_lines(a)
            if lines:
                blocks.append(_section("\n".join(_slack(x) for x in lines)))
            for ex in examples(a):
                who = f" — @{_slack(ex.author)}" if ex.author else ""
                quote = f"> {_slack(ex.text)}{who}\n" if ex.text else ""
                blocks.append(_section(f"{quote}<{_slack_url(ex.url)}|{_slack(ex.url)[:80]}>"))
            link = _slack_url(alert_link(self.dashboard, a.alert_id))
            blocks.append(_section(f"<{link}|Open on the dashboard>"))
            return f"{self._label(a)}: {a.title}"[:300], blocks
        shown, more = self._listed()
        blocks = [
            {"type": "header", "text": {"type": "plain_text", "text": "Campaign buzz digest"}},
            _section(_slack(self.subject_line())),
        ]
        for a in shown:
            link = _slack_url(alert_link(self.dashboard, a.alert_id))
            blocks.append(
                _section(
                    f"*{_slack(self._label(a))}* ({_slack(self._when(a.at))})\n"
                    f"<{link}|{_slack(a.title)[:200]}>"
                )
            )
        if more:
            link = alerts_link(self.dashboard)
            blocks.append(_section(f"… and {more} more <{_slack_url(link)}|on the dashboard>"))
        return self.subject_line(), blocks

    # ---- webhook (Standard Webhooks payload) ---------------------------------------------
    def payload(self, now: datetime | None = None) -> dict[str, Any]:
        stamp = (now or datetime.now(UTC)).isoformat()
        if not self.digest:
            a = self.alerts[0]
            data = {
                **a.to_dict(),
                "route": self.route,
                "text": f"{self._label(a)}: {a.title}",
                "summary": summary_lines(a),
                "url": alert_link(self.dashboard, a.alert_id),
            }
            return {"type": "alert", "timestamp": stamp, "data": data}
        return {
            "type": "alert.digest",
            "timestamp": stamp,
            "data": {
                "route": self.route,
                "text": self.subject_line(),
                "url": alerts_link(self.dashboard),
                "alerts": [
                    {**a.to_dict(), "url": alert_link(self.dashboard, a.alert_id)}
                    for a in self.alerts
                ],
            },
        }
