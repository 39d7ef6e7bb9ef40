"""The Now page's one-sentence answer to "what is happening to the campaign?": pure functions.

Someone glancing between calls reads one sentence and one instruction, so the order matters:
an attack in progress beats any other spike, a spike beats a calm that follows an attack
whose alert is still open, and calm is said plainly. "In progress" means a spike minute
within the last ``IN_PROGRESS`` minutes; the closed-minute delay of the worker is about 1 to 2
minutes, so anything longer than a few minutes ago has really ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import pandas as pd

from dashboard.alert_text import driver_phrase
from pipeline.scoring.signups import LagCorrelation
from pipeline.scoring.signups import best_lag as best_of

Level = Literal["attack", "spike", "calming", "quiet", "warming", "silent"]
IN_PROGRESS = timedelta(minutes=10)


@dataclass(frozen=True)
class SubjectInfo:
    name: str
    kind: str  # candidate, rival or issue


@dataclass(frozen=True)
class Summary:
    level: Level
    sentence: str
    advice: str


def multiple(mentions: float, expected: float) -> str:
    """'5× normal volume'; with no normal level to speak of, the plain count instead."""
    if expected < 0.5:
        return f"{int(mentions)} mentions where there are usually almost none"
    ratio = mentions / expected
    shown = f"{ratio:.0f}" if ratio >= 3 else f"{ratio:.1f}".removesuffix(".0")
    return f"{shown}× normal volume"


def minutes_ago(moment: datetime, now: datetime) -> str:
    minutes = max(0, round((now - moment).total_seconds() / 60))
    return "just now" if minutes == 0 else f"{minutes} min ago"


def _spike_sentence(row: pd.Series, info: SubjectInfo) -> tuple[Level, str, str]:
    explanation = row.get("explanation")
    why = explanation.get("why") if isinstance(explanation, dict) else None
    why = why if isinstance(why, dict) else {}
    driver = driver_phrase(why)
    negative = float(row["negative"]) / max(int(row["mentions"]), 1)
    facts = f"{multiple(float(row['mentions']), float(row['expected']))}, {negative:.0%} negative"
    tail = f", driven by {driver}." if driver else "."
    if int(row["attack"]):
        return (
            "attack",
            f"Attack on {info.name} in progress: {facts}{tail}",
            "Read the example posts under the chart, agree a response, then mark the alert "
            "handled on the Alerts page.",
        )
    if info.kind == "candidate":
        return (
            "spike",
            f"{info.name} is getting attention: {facts}{tail}",
            "A good moment to amplify: pass the best posts to validators and volunteers.",
        )
    if info.kind == "rival":
        return (
            "spike",
            f"Spike in talk about {info.name}: {facts}{tail}",
            "See what drives it under the chart; respond only if it touches our campaign.",
        )
    return (
        "spike",
        f"{info.name} is being talked about: {facts}{tail}",
        "A chance to be heard on this issue: see what drives it under the chart.",
    )


def summarise(
    recent: pd.DataFrame,
    spikes: pd.DataFrame,
    subjects: dict[str, SubjectInfo],
    now: datetime,
    recent_minutes: int = 15,
) -> Summary:
    """One sentence and one instruction from the last minutes of buzz and the last hour's spikes.

    ``recent`` is the buzz series (bucket, subject, mentions, expected, ...) of the last
    ``recent_minutes``; ``spikes`` the spikes of the last hour as ``queries.now.spikes`` returns
    them (newest first), for every subject of the campaign.
    """
    unknown = SubjectInfo("an untracked subject", "issue")
    if not spikes.empty:
        live = spikes[spikes["last_minute"] >= now - IN_PROGRESS]
        if not live.empty:
            # Attacks first, then the spike furthest above normal.
            ratio = live["mentions"] / live["expected"].clip(lower=0.5)
            ordered = live.assign(_r=ratio).sort_values(["attack", "_r"], ascending=False)
            top = ordered.iloc[0]
            level, sentence, advice = _spike_sentence(top, subjects.get(top["subject"], unknown))
            # A spike crossing a 15-minute boundary is two alert buckets but one story.
            others = ordered["subject"].nunique() - 1
            if others:
                sentence += f" Also {others} other spike{'s' if others > 1 else ''} right now."
            return Summary(level, sentence, advice)
        open_attacks = spikes[(spikes["attack"] == 1) & (spikes["handled"] == 0)]
        if not open_attacks.empty:
            row = open_attacks.iloc[0]
            name = subjects.get(row["subject"], unknown).name
            return Summary(
                "calming",
                f"The attack on {name} ({minutes_ago(row['last_minute'], now)}) has calmed "
                "down: buzz is back within normal range.",
                "Its alert is still open: mark it handled on the Alerts page once the "
                "response is out.",
            )
    total = int(recent["mentions"].sum()) if not recent.empty else 0
    if total == 0:
        return Summary(
            "silent",
            f"All quiet: no mentions in the last {recent_minutes} minutes.",
            "Nothing needs you right now.",
        )
    closed = recent[(recent["provisional"] == 0) & (recent["mentions"] > 0)]
    if closed.empty or closed["expected"].isna().all():
        return Summary(
            "warming",
            f"Learning what normal looks like: {total:,} mentions in the last "
            f"{recent_minutes} minutes.",
            "Spikes and attacks are flagged once there are about 30 minutes of history.",
        )
    tail = _candidate_tail(recent, subjects, recent_minutes)
    return Summary(
        "quiet", f"All quiet: buzz within normal range{tail}", "Nothing needs you right now."
    )


def _candidate_tail(recent: pd.DataFrame, subjects: dict[str, SubjectInfo], minutes: int) -> str:
    """'. Jordan Kim: 42 mentions in the last 15 min, 61% share of voice.'"""
    candidates = [sid for sid, s in subjects.items() if s.kind == "candidate"]
    if not candidates:
        return "."
    per = recent.groupby("subject")["mentions"].sum()
    contenders = [sid for sid, s in subjects.items() if s.kind in ("candidate", "rival")]
    ours = int(per.get(candidates[0], 0))
    voice = int(per.reindex(contenders, fill_value=0).sum())
    share = f", {ours / voice:.0%} share of voice" if voice else ""
    return f". {subjects[candidates[0]].name}: {ours:,} mentions in the last {minutes} min{share}."


# Below this, a correlation over a couple of weeks of hourly counts is mostly the daily rhythm.
MEANINGFUL_R = 0.3


def best_lag(lag: pd.DataFrame) -> tuple[int, float, int] | None:
    """(lag hours, r, hours compared) with the highest defined r, earliest on ties."""
    found = best_of(
        LagCorrelation(int(row.lag_hours), None if pd.isna(row.r) else float(row.r), int(row.pairs))
        for row in lag.itertuples()
    )
    if found is None or found.r is None:
        return None
    return found.lag_hours, found.r, found.pairs


def lag_sentence(lag: pd.DataFrame) -> str:
    """The buzz-to-signup lag in words, with the caveat when the link is weak."""
    best = best_lag(lag)
    if best is None:
        return (
            "Not enough history yet to tell whether buzz leads signups: it takes a few days "
            "of hourly buzz and signups."
        )
    hours, r, pairs = best
    if r < MEANINGFUL_R:
        return (
            f"No clear link yet between buzz and signups: the strongest correlation is "
            f"r = {r:.2f}, at {hours} h."
        )
    when = (
        "in the same hour as buzz"
        if hours == 0
        else (f"about {hours} hour{'s' if hours != 1 else ''} after buzz")
    )
    return f"Signups tend to come **{when}** (r = {r:.2f} over {pairs:,} hours compared)."
