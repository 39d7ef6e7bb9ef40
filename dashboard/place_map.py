"""The Places map: circles for places over a faint dot outline of US ZIP codes, no tiles.

Map tiles would come from the internet at view time; the dots come from the same offline
package as the places' points (:mod:`dashboard.postal`), so the map draws anywhere. The view
zooms to the places (the projection fits the dots drawn, which are the ones around them).
Vega-Lite cannot move overlapping text, so names are placed here: biggest place first, above
its circle unless that would cover another name or circle, else below, right or left of it,
else left to the tooltip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import altair as alt
import pandas as pd

# Stages of a local group, from "keep an eye on it" to "act now": the darker, the more urgent.
STAGE_COLOURS = {
    "Growing": "#93c5fd",
    "Ready for a local group": "#2563eb",
    "Big enough to split": "#7c3aed",
}
HEIGHT = 440
# The drawing inside the chart, once the legend and padding are taken (measured in chromium on
# a 1400-pixel-wide page, where the map gets half); only used to keep names apart.
PLOT_WIDTH, PLOT_HEIGHT = 580, 350
MAX_OUTLINE_DOTS = 4000  # enough to draw the shape of a region; more only slows the browser
SIZES = (60, 1500)  # circle area in px² for no one and for the biggest place
MARGIN = 0.35  # share of the places' extent shown around them (at least a degree or two)


@dataclass(frozen=True)
class Box:
    south: float
    north: float
    west: float
    east: float

    @classmethod
    def around(cls, points: pd.DataFrame) -> Box:
        lat, lon = points["latitude"], points["longitude"]
        pad_lat = max(1.5, float(lat.max() - lat.min()) * MARGIN)
        pad_lon = max(2.0, float(lon.max() - lon.min()) * MARGIN)
        return cls(
            float(lat.min()) - pad_lat,
            float(lat.max()) + pad_lat,
            float(lon.min()) - pad_lon,
            float(lon.max()) + pad_lon,
        )

    @classmethod
    def spanning(cls, *frames: pd.DataFrame) -> Box:
        """The smallest box holding every point of the frames: what the map's projection fits."""
        lat = pd.concat([f["latitude"] for f in frames])
        lon = pd.concat([f["longitude"] for f in frames])
        return cls(float(lat.min()), float(lat.max()), float(lon.min()), float(lon.max()))

    def pixels(self, width: float, height: float) -> tuple[float, float]:
        """(pixels per degree of longitude, of latitude) once the box is fitted to the size."""
        squeeze = math.cos(math.radians((self.south + self.north) / 2))
        per_degree = min(
            width / max((self.east - self.west) * squeeze, 0.1),
            height / max(self.north - self.south, 0.1),
        )
        return per_degree * squeeze, per_degree


def outline_near(outline: pd.DataFrame, box: Box) -> pd.DataFrame:
    near = outline[
        outline["latitude"].between(box.south, box.north)
        & outline["longitude"].between(box.west, box.east)
    ]
    step = -(-len(near) // MAX_OUTLINE_DOTS)  # every n-th dot: the shape stays, the weight goes
    return near.iloc[::step] if step > 1 else near


def radius(people: float, most: float) -> float:
    """Circle radius in pixels, as the size scale below draws it (area linear in people)."""
    area = SIZES[0] + (SIZES[1] - SIZES[0]) * people / max(most, 1.0)
    return math.sqrt(area / math.pi)


@dataclass(frozen=True)
class Name:
    """Where a place's name is written, in pixels from the centre of its circle."""

    dx: float
    dy: float
    align: Literal["center", "left", "right"]  # which end of the text sits at dx


def name_positions(points: pd.DataFrame, drawn: Box, labelled: int) -> dict[int, Name]:
    """Row index -> where the place's name goes: above, below, right or left of its circle,
    the first of those that covers no other name and is not nearer another circle than its
    own (so it cannot be read as that one's). ``drawn`` is the extent the map fits."""
    per_lon, per_lat = drawn.pixels(PLOT_WIDTH, PLOT_HEIGHT)
    most = float(points["people"].max())
    circles = {
        i: (float(r.longitude) * per_lon, -float(r.latitude) * per_lat, radius(r.people, most))
        for i, r in zip(points.index, points.itertuples(), strict=True)
    }
    written: list[tuple[float, float, float]] = []  # names: centre x, centre y, half width
    names: dict[int, Name] = {}

    def free(i: int, x: float, y: float, half: float) -> bool:
        return all(
            abs(x - nx) > half + nh + 4 or abs(y - ny) > 15 for nx, ny, nh in written
        ) and all(
            j == i or abs(x - cx) > half + cr + 6 or abs(y - cy) > 7 + cr + 8
            for j, (cx, cy, cr) in circles.items()
        )

    for i in points.nlargest(labelled, "people").index:
        x, y, r = circles[i]
        half = len(str(points.at[i, "label"])) * 3.4
        candidates = (
            (Name(0, -(r + 9), "center"), 0.0),
            (Name(0, r + 10, "center"), 0.0),
            (Name(r + 5, 0, "left"), r + 5 + half),
            (Name(-(r + 5), 0, "right"), -(r + 5 + half)),
        )
        for name, shift in candidates:
            if free(i, x + shift, y + name.dy, half):
                written.append((x + shift, y + name.dy, half))
                names[i] = name
                break
    return names


def places_map(points: pd.DataFrame, outline: pd.DataFrame, labelled: int = 10) -> alt.LayerChart:
    """Places as circles sized by people and coloured by stage, over faint dots of the ZIP codes
    around them (``points``: ``label``, ``latitude``, ``longitude``, ``people``, ``new_people``,
    ``stage_label``); up to ``labelled`` of the biggest carry their name."""
    dots = outline_near(outline, Box.around(points))
    lon, lat = alt.Longitude("longitude:Q"), alt.Latitude("latitude:Q")
    background = (
        alt.Chart(dots)
        .mark_circle(size=9, color="#cbd5e1", opacity=0.8)
        .encode(longitude=lon, latitude=lat)
    )
    circles = (
        alt.Chart(points)
        .mark_circle(opacity=0.85, stroke="white", strokeWidth=1)
        .encode(
            longitude=lon,
            latitude=lat,
            size=alt.Size(
                "people:Q",
                scale=alt.Scale(domain=[0, float(points["people"].max())], range=list(SIZES)),
                legend=None,
            ),
            color=alt.Color(
                "stage_label:N",
                scale=alt.Scale(domain=list(STAGE_COLOURS), range=list(STAGE_COLOURS.values())),
                legend=alt.Legend(title=None, orient="top"),
            ),
            tooltip=[
                alt.Tooltip("label:N", title="Place"),
                alt.Tooltip("stage_label:N", title="Stage"),
                alt.Tooltip("people:Q", title="People so far"),
                alt.Tooltip("new_people:Q", title="New in the window"),
            ],
            order=alt.Order("people:Q", sort="descending"),
        )
    )
    # One small layer per name: a text mark's offset is the same for all its rows.
    names = [
        alt.Chart(points.loc[[i]])
        .mark_text(
            dx=name.dx,
            dy=name.dy,
            align=name.align,
            baseline="middle",
            fontSize=12,
            fontWeight=600,
            color="#1e293b",
        )
        .encode(longitude=lon, latitude=lat, text="label:N")
        for i, name in name_positions(points, Box.spanning(dots, points), labelled).items()
    ]
    return (
        alt.layer(background, circles, *names)
        .project(type="albersUsa")
        .properties(height=HEIGHT)
        .configure_view(stroke=None)
    )
