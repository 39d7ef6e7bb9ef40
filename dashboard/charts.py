"""Altair charts for the pages: built from DataFrames, no warehouse access here.

Timestamps arrive timezone-aware (UTC); the browser draws them in the viewer's local time.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

HEIGHT = 300


# Colour says whose line it is before the legend is read: the candidate in the app's blue,
# rivals in warm colours, issues in cool ones that are neither.
KIND_PALETTES = {
    "candidate": ["#1d4ed8", "#1e3a8a"],
    "rival": ["#dc2626", "#ea580c", "#b45309", "#be185d"],
    "issue": ["#059669", "#7c3aed", "#0891b2", "#65a30d", "#a16207", "#6b7280"],
}


def subject_colours(kinds: list[str]) -> list[str]:
    """One colour per subject, in order, drawn from its kind's palette."""
    used = dict.fromkeys(KIND_PALETTES, 0)
    colours = []
    for kind in kinds:
        palette = KIND_PALETTES.get(kind, KIND_PALETTES["issue"])
        colours.append(palette[used.get(kind, 0) % len(palette)])
        used[kind] = used.get(kind, 0) + 1
    return colours


TOPIC_COLOURS = {
    "buzz.mentions": "#2563eb",
    "buzz.threads": "#059669",
    "buzz.signups": "#7c3aed",
    "buzz.alerts": "#f59e0b",
    "buzz.dead_letters": "#dc2626",
}


def _time_axis(bucket_minutes: int) -> alt.Axis:
    return alt.Axis(format="%H:%M" if bucket_minutes < 60 else "%b %d %H:%M", labelOverlap=True)


def buzz_chart(
    series: pd.DataFrame, bucket_minutes: int, names: list[str], colours: list[str]
) -> alt.LayerChart | alt.FacetChart:
    """Mentions per bucket, one line per subject, with spikes marked where they happened.

    ``series`` has ``bucket``, ``name``, ``mentions``, ``expected``, ``spike``, ``attack`` and
    ``provisional``. Spikes are big dots (red for an attack) and an attack also gets a
    vertical rule, so it is seen before any legend is read; buckets still being counted are
    hollow dots, so a low last point reads as "not finished" rather than "falling".
    """
    per = "minute" if bucket_minutes == 1 else f"{bucket_minutes} minutes"
    x = alt.X("bucket:T", title=None, axis=_time_axis(bucket_minutes))
    colour = alt.Color(
        "name:N",
        sort=names,
        scale=alt.Scale(domain=names, range=colours),
        legend=alt.Legend(title=None, orient="top"),
    )
    tooltip = [
        alt.Tooltip("bucket:T", title="From", format="%H:%M"),
        alt.Tooltip("name:N", title="Subject"),
        alt.Tooltip("mentions:Q", title="Mentions"),
        alt.Tooltip("expected:Q", title="Normal", format=".1f"),
    ]
    base = alt.Chart(series, height=HEIGHT)
    lines = base.mark_line(strokeWidth=2.5).encode(
        x=x, y=alt.Y("mentions:Q", title=f"Mentions per {per}"), color=colour, tooltip=tooltip
    )
    open_points = (
        base.transform_filter("datum.provisional == 1")
        .mark_point(filled=False, size=40, strokeWidth=1.5)
        .encode(x=x, y="mentions:Q", color=colour, tooltip=tooltip)
    )
    marked = base.transform_filter("datum.spike == 1").transform_calculate(
        what="datum.attack == 1 ? 'Attack' : 'Spike'"
    )
    spike_points = marked.mark_point(filled=True, size=160, opacity=1, stroke="white").encode(
        x=x,
        y="mentions:Q",
        color=alt.value("#f59e0b"),
        shape=alt.value("circle"),
        tooltip=[alt.Tooltip("what:N", title="Flag"), *tooltip],
    )
    attack_points = spike_points.transform_filter("datum.attack == 1").encode(
        color=alt.value("#dc2626"), shape=alt.value("triangle-up")
    )
    attack_rules = (
        marked.transform_filter("datum.attack == 1")
        .mark_rule(color="#dc2626", strokeDash=[4, 3], opacity=0.6)
        .encode(x=x)
    )
    return alt.layer(attack_rules, lines, open_points, spike_points, attack_points)


def share_bar(shares: pd.DataFrame, names: list[str], colours: list[str]) -> alt.Chart:
    """Share of voice (``name``, ``share``) as one horizontal bar per contender."""
    return (
        alt.Chart(shares, height=alt.Step(26))
        .mark_bar(cornerRadiusEnd=3)
        .encode(
            x=alt.X(
                "share:Q", title=None, axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])
            ),
            y=alt.Y("name:N", title=None, sort=names),
            color=alt.Color("name:N", scale=alt.Scale(domain=names, range=colours), legend=None),
            tooltip=[
                alt.Tooltip("name:N", title="Subject"),
                alt.Tooltip("share:Q", title="Share of voice", format=".0%"),
                alt.Tooltip("mentions:Q", title="Mentions"),
            ],
        )
    )


def tone_bar(tone: pd.DataFrame, names: list[str]) -> alt.Chart:
    """Share of negative mentions per subject (``name``, ``negative_share``, ``sentiment``)."""
    return (
        alt.Chart(tone, height=alt.Step(26))
        .mark_bar(cornerRadiusEnd=3)
        .encode(
            x=alt.X(
                "negative_share:Q",
                title=None,
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            y=alt.Y("name:N", title=None, sort=names),
            # Red deepens with negativity: the eye goes to the subject under fire.
            color=alt.Color(
                "negative_share:Q",
                scale=alt.Scale(domain=[0, 1], range=["#fecaca", "#b91c1c"]),
                legend=None,
            ),
            tooltip=[
                alt.Tooltip("name:N", title="Subject"),
                alt.Tooltip("negative_share:Q", title="Negative", format=".0%"),
                alt.Tooltip("sentiment:Q", title="Mean tone (-1 to 1)", format="+.2f"),
            ],
        )
    )


def events_chart(events: pd.DataFrame) -> alt.Chart:
    """Events written per second per topic (``topic``, ``minute``, ``per_second``)."""
    minute = "yearmonthdatehoursminutes(minute):T"
    return (
        alt.Chart(events, height=HEIGHT)
        .mark_bar(width=alt.RelativeBandSize(0.8))
        .encode(
            x=alt.X(minute, title=None, axis=alt.Axis(format="%H:%M", labelOverlap=True)),
            y=alt.Y("sum(per_second):Q", title="Events per second (minute average)"),
            color=alt.Color(
                "topic:N",
                # Dead letters in red, everything healthy in calm colours.
                scale=alt.Scale(domain=list(TOPIC_COLOURS), range=list(TOPIC_COLOURS.values())),
                legend=alt.Legend(title=None, orient="top"),
            ),
            tooltip=[
                alt.Tooltip(minute, title="Minute", format="%H:%M"),
                alt.Tooltip("topic:N", title="Topic"),
                alt.Tooltip("per_second:Q", title="Per second", format=".2f"),
            ],
        )
    )


def signups_chart(over_time: pd.DataFrame, bucket_minutes: int) -> alt.Chart:
    """Signups per bucket, stacked by channel."""
    per = "minute" if bucket_minutes == 1 else f"{bucket_minutes} minutes"
    return (
        alt.Chart(over_time, height=HEIGHT - 60)
        .mark_bar()
        .encode(
            x=alt.X("bucket:T", title=None, axis=_time_axis(bucket_minutes)),
            y=alt.Y(
                "signups:Q", title=f"Signups per {per}", axis=alt.Axis(format="d", tickMinStep=1)
            ),
            color=alt.Color("channel:N", legend=alt.Legend(title=None, orient="top")),
            tooltip=[
                alt.Tooltip("bucket:T", title="From", format="%H:%M"),
                alt.Tooltip("channel:N", title="Channel"),
                alt.Tooltip("signups:Q", title="Signups"),
            ],
        )
    )


def lag_chart(lag: pd.DataFrame, best: int | None) -> alt.Chart:
    """Correlation of buzz with signups N hours later, one bar per lag; the best one dark."""
    data = lag.assign(best=lag["lag_hours"] == best)
    return (
        alt.Chart(data, height=HEIGHT - 80)
        .mark_bar()
        .encode(
            x=alt.X(
                "lag_hours:O",
                title="Signups measured this many hours after buzz",
                axis=alt.Axis(labelAngle=0),
            ),
            y=alt.Y("r:Q", title="Correlation (r)", scale=alt.Scale(domain=[-1, 1])),
            color=alt.condition("datum.best", alt.value("#1d4ed8"), alt.value("#93c5fd")),
            tooltip=[
                alt.Tooltip("lag_hours:O", title="Lag (h)"),
                alt.Tooltip("r:Q", title="r", format="+.2f"),
                alt.Tooltip("pairs:Q", title="Hours compared"),
            ],
        )
    )


def quick_chart(df: pd.DataFrame) -> alt.Chart | None:
    """A line of the first numeric column over the first time column, if the result has both.

    A text column with a few distinct values (platform, subject...) becomes the line colour,
    which is what most "per hour, per X" queries want to see.
    """
    times = [c for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c])]
    numbers = [
        c
        for c in df.columns
        if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
    ]
    if not times or not numbers or df.empty:
        return None
    groups = [
        c
        for c in df.columns
        if c not in times and c not in numbers and df[c].astype(str).nunique() <= 12
    ]
    # Column names are whatever the analyst wrote ("count()", "a.b"); Altair would read those
    # as aggregates or nested fields, so the chart uses plain names and keeps the real ones as
    # titles.
    picked = {"t": times[0], "v": numbers[0]} | ({"g": groups[0]} if groups else {})
    data = pd.DataFrame({alias: df[col] for alias, col in picked.items()})
    if "g" in data:
        data["g"] = data["g"].astype(str)
    encoding: dict[str, object] = {
        "x": alt.X("t:T", title=picked["t"]),
        "y": alt.Y("v:Q", title=picked["v"]),
        "tooltip": [
            alt.Tooltip(f"{a}:{'T' if a == 't' else 'Q' if a == 'v' else 'N'}", title=c)
            for a, c in picked.items()
        ],
    }
    if "g" in picked:
        encoding["color"] = alt.Color("g:N", title=picked["g"], legend=alt.Legend(orient="top"))
    return alt.Chart(data, height=HEIGHT).mark_line(point=True).encode(**encoding)  # type: ignore[arg-type]


def people_chart(
    series: pd.DataFrame, bucket_minutes: int, thresholds: dict[str, int]
) -> alt.LayerChart | alt.FacetChart:
    """People so far per place over the window (``bucket``, ``label``, ``people``), with a dashed
    line at each stage threshold the places come near (``{"start a group": 10, ...}``)."""
    top = float(series["people"].max()) if not series.empty else 0.0
    near = {text: n for text, n in thresholds.items() if n <= max(top * 1.5, 1)}
    lines = (
        alt.Chart(series, height=HEIGHT - 40)
        .mark_line(strokeWidth=2.5, interpolate="step-after")
        .encode(
            x=alt.X("bucket:T", title=None, axis=_time_axis(bucket_minutes)),
            y=alt.Y("people:Q", title="People so far", axis=alt.Axis(format="d", tickMinStep=1)),
            # Biggest place first in the legend, as in the series.
            color=alt.Color(
                "label:N",
                sort=list(dict.fromkeys(series["label"])),
                legend=alt.Legend(title=None, orient="top", columns=3),
            ),
            tooltip=[
                alt.Tooltip("bucket:T", title="Until", format="%b %d %H:%M"),
                alt.Tooltip("label:N", title="Place"),
                alt.Tooltip("people:Q", title="People so far"),
            ],
        )
    )
    rules_data = pd.DataFrame({"text": list(near), "people": list(near.values())})
    rules = alt.Chart(rules_data).mark_rule(strokeDash=[5, 4], color="#64748b").encode(y="people:Q")
    rule_text = (
        alt.Chart(rules_data)
        .mark_text(align="left", dx=4, dy=-7, color="#475569", fontSize=11)
        .encode(y="people:Q", text="text:N", x=alt.value(0))
    )
    return alt.layer(lines, rules, rule_text)
