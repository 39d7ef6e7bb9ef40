"""Alert explanations in words: pure functions from an alert's JSON to Markdown lines.

The worker stores the numbers behind each alert as JSON (docs/scoring.md section 14); staff
need them as sentences and links. Anything missing from the JSON is left out rather than shown
as "None", because an alert from an older worker version must still read well.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

KIND_LABELS = {
    "attack": "Attack",
    "spike": "Spike",
    "coordinated": "Coordinated posting",
    "cascade": "Validator post taking off",
    "validator_first": "New validator",
    "golden_thread": "Golden thread",
    "unanswered_question": "Unanswered question",
    "signup_surge": "Signup surge",
}
SEVERITY_ICONS = {
    "critical": ":material/crisis_alert:",
    "warning": ":material/warning:",
    "info": ":material/info:",
}


def title_text(title: str, names: Mapping[str, str]) -> str:
    """The worker's title with subject ids as names: 'Possible attack on Jordan Kim: ...'."""
    for sid, name in names.items():
        title = re.sub(rf"(?<![\w-]){re.escape(sid)}:", f"{name}:", title)
    return title


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _drivers(why: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    items = why.get(kind)
    if not isinstance(items, list):
        return []
    return [d for d in items if isinstance(d, dict) and d.get("item")]


def _md(text: str) -> str:
    """Text from the world, made safe to put inside Markdown (no links, no emphasis)."""
    for ch in "\\`*_[]<>#|$~":
        text = text.replace(ch, "\\" + ch)
    return " ".join(text.split())


def link_label(url: str) -> str:
    """'example.com/story' for a link: enough to recognise it, short enough for a line."""
    parts = urlsplit(url if "//" in url else "//" + url)
    path = parts.path.rstrip("/")
    label = (parts.hostname or "").removeprefix("www.") + path
    return label if len(label) <= 48 else label[:47] + "…"


def driver_phrase(why: dict[str, Any]) -> str | None:
    """The one thing most behind a spike, as staff would say it: '#kimscandal', '“affair”'."""
    for kind, fmt in (
        ("hashtags", "#{}"),
        ("terms", "“{}”"),
        ("links", "{}"),
        ("authors", "@{}"),
    ):
        found = _drivers(why, kind)
        if found:
            item = str(found[0]["item"])
            return fmt.format(link_label(item) if kind == "links" else item.lstrip("#@"))
    return None


def spike_lines(explanation: dict[str, Any]) -> list[str]:
    """What drove a spike: words, hashtags, links, people, then example posts with links."""
    why = _dict(explanation.get("why"))
    lines: list[str] = []
    spike = _dict(explanation.get("spike"))
    if spike.get("mentions") is not None and spike.get("expected") is not None:
        line = f"**{spike['mentions']} mentions a minute** vs {float(spike['expected']):.1f} usual"
        if spike.get("z") is not None:
            line += f" ({float(spike['z']):.1f} spreads above normal)"
        if spike.get("negative_share") is not None:
            line += f", {float(spike['negative_share']):.0%} negative"
        lines.append(line)
    labels = (
        ("terms", "Words"),
        ("hashtags", "Hashtags"),
        ("links", "Links"),
        ("authors", "People"),
    )
    for kind, label in labels:
        found = _drivers(why, kind)
        if not found:
            continue
        shown = []
        for d in found[:5]:
            item = str(d["item"])
            if kind == "links":
                text = f"[{_md(link_label(item))}]({item if '//' in item else 'https://' + item})"
            elif kind == "hashtags":
                text = "\\#" + _md(item.lstrip("#"))
            elif kind == "authors":
                text = "@" + _md(item.lstrip("@"))
            else:
                text = f"“{_md(item)}”"
            shown.append(
                f"{text} ({d.get('spike_posts', '?')} posts, {d.get('baseline_posts', 0)} before)"
            )
        lines.append(f"**{label}:** " + ", ".join(shown))
    lines += coordinated_lines(_dict(explanation.get("coordinated")))
    also = explanation.get("also")
    if isinstance(also, list) and also:
        lifted = [
            f"{_md(str(x.get('subject', '?')))} ({x.get('mentions', '?')} a minute vs "
            f"{float(x.get('expected', 0)):.1f} usual)"
            for x in also
            if isinstance(x, dict)
        ]
        lines.append("**The same posts also lifted:** " + ", ".join(lifted))
    for ex in (why.get("examples") or [])[:3]:
        if not isinstance(ex, dict):
            continue
        text = _md(str(ex.get("text", "")))[:200]
        author = _md(str(ex.get("author", "")).lstrip("@"))
        link = f" [open]({ex['url']})" if ex.get("url") else ""
        lines.append(f"> {text} — @{author}{link}")
    return lines


def coordinated_lines(share: dict[str, Any]) -> list[str]:
    """'62% of this minute's posts are 40 near-identical posts from 35 accounts' and the text."""
    if not share.get("posts"):
        return []
    line = (
        f"**{float(share.get('share', 0)):.0%} of this minute's {share.get('total', '?')} posts "
        f"are {share['posts']} near-identical posts from {share.get('accounts', '?')} accounts**"
    )
    out = [line]
    if share.get("text"):
        out.append(f"> {_md(str(share['text']))[:280]}")
    return out


def burst_lines(explanation: dict[str, Any]) -> list[str]:
    """A coordinated burst: how many posts and accounts, the text, the accounts, other texts."""
    b = _dict(explanation.get("burst"))
    if not b.get("posts"):
        return []
    posts, accounts = explanation.get("posts", b["posts"]), explanation.get("accounts")
    lines = [
        f"**{posts} near-identical posts from {accounts or b.get('accounts', '?')} accounts** "
        f"({b.get('before', 0)} like them in the hour before)"
    ]
    share = _dict(explanation.get("share"))
    if share.get("total"):
        lines.append(
            f"{float(share.get('share', 0)):.0%} of the subject's {share['total']} posts "
            "in the latest minute"
        )
    if b.get("text"):
        lines.append(f"> {_md(str(b['text']))[:280]}")
    handles = [h for h in b.get("handles") or [] if isinstance(h, str)]
    if handles:
        shown = ", ".join("@" + _md(h.lstrip("@")) for h in handles[:12])
        more = f" and {len(handles) - 12} more" if len(handles) > 12 else ""
        lines.append(f"**Accounts:** {shown}{more}")
    for other in explanation.get("others") or []:
        if isinstance(other, dict) and other.get("text"):
            lines.append(
                f"Also {other.get('posts', '?')} posts from {other.get('accounts', '?')} "
                f"accounts: “{_md(str(other['text']))[:160]}”"
            )
    return lines


def episode_line(explanation: dict[str, Any]) -> str | None:
    """'Going on for 12 min (4 minutes flagged), updated 3 times' for an alert that updated."""
    ep = _dict(explanation.get("episode"))
    revision = ep.get("revision")
    if not isinstance(revision, int) or revision < 2:
        return None
    span, flagged = ep.get("span_minutes"), ep.get("minutes")
    updates = revision - 1
    return (
        f"Going on for {span} min ({flagged} minutes flagged), "
        f"updated {updates} time{'s' if updates != 1 else ''}"
    )


def explanation_lines(kind: str, explanation: dict[str, Any]) -> list[str]:
    """Markdown lines saying why an alert was raised, by kind."""
    if kind in ("spike", "attack"):
        return spike_lines(explanation)
    if kind == "coordinated":
        return burst_lines(explanation)
    if kind == "cascade":
        reach = _dict(explanation.get("reach"))
        reasons = explanation.get("reasons")
        lines = [f"Why: {_md('; '.join(map(str, reasons)))}"] if isinstance(reasons, list) else []
        figures = [
            (reach.get("posts"), "posts in the cascade"),
            (reach.get("amplifiers"), "people reshared it"),
            (reach.get("cascade_audience"), "people could see it"),
            (reach.get("depth"), "hops deep"),
        ]
        lines.append(", ".join(f"**{v:,}** {label}" for v, label in figures if isinstance(v, int)))
        return [x for x in lines if x and x != "Why: "]
    if kind == "validator_first":
        who = _md(str(explanation.get("validator", "A validator")))
        return [f"**{who}** spoke about the campaign for the first time."]
    if kind == "golden_thread":
        m = _dict(explanation.get("metrics"))
        parts = [
            f"**{m['transactions']}** real exchanges" if "transactions" in m else "",
            f"{m['participants']} people" if "participants" in m else "",
            f"longest back-and-forth {m['back_and_forth']}" if "back_and_forth" in m else "",
            f"quality {float(m['quality']):.2f}" if "quality" in m else "",
        ]
        return [", ".join(p for p in parts if p)] if any(parts) else []
    if kind == "unanswered_question":
        q = _dict(explanation.get("question"))
        lines = []
        if q.get("text"):
            lines.append(f"> {_md(str(q['text']))[:300]}")
        if explanation.get("waited_minutes") is not None:
            lines.append(f"Waiting for **{explanation['waited_minutes']} min** for an answer.")
        return lines
    if kind == "signup_surge":
        e = explanation
        if "signups" in e and "expected" in e:
            return [
                f"**{e['signups']} signups in a minute** on {_md(str(e.get('channel', '?')))} "
                f"vs {float(e['expected']):.1f} usual."
            ]
    return []
