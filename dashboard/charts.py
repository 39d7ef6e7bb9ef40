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


def volume_chart(
    volume: pd.DataFrame, bucket_minutes: int, subjects: list[str], colours: list[str]
) -> alt.Chart:
    """One line per subject, mentions per bucket; the legend keeps the campaign's order."""
    per = "minute" if bucket_minutes == 1 else f"{bucket_minutes} minutes"
    return (
        alt.Chart(volume, height=HEIGHT)
        .mark_line(strokeWidth=2.5)
        .encode(
            x=alt.X("bucket:T", title=None, axis=alt.Axis(format="%H:%M", labelOverlap=True)),
            y=alt.Y("mentions:Q", title=f"Mentions per {per}"),
            color=alt.Color(
                "subject:N",
                sort=subjects,
                scale=alt.Scale(domain=subjects, range=colours),
                legend=alt.Legend(title=None, orient="top"),
            ),
            tooltip=[
                alt.Tooltip("bucket:T", title="From", format="%H:%M"),
                alt.Tooltip("subject:N", title="Subject"),
                alt.Tooltip("mentions:Q", title="Mentions"),
            ],
        )
    )


def written_chart(written: pd.DataFrame) -> alt.Chart:
    """Rows the sink wrote per minute, one bar per minute."""
    # A minute time unit gives each bar a band to fill; a plain temporal axis draws hairlines.
    minute = "yearmonthdatehoursminutes(minute):T"
    return (
        alt.Chart(written, height=HEIGHT)
        .mark_bar(width=alt.RelativeBandSize(0.8))
        .encode(
            x=alt.X(minute, title=None, axis=alt.Axis(format="%H:%M", labelOverlap=True)),
            y=alt.Y("rows:Q", title="Mentions written per minute"),
            tooltip=[
                alt.Tooltip(minute, title="Minute", format="%H:%M"),
                alt.Tooltip("rows:Q", title="Written"),
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
