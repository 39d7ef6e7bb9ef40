"""The Places page: where the movement grows, driven by AppTest against a real embedded
warehouse filled with the places of ``tests/places_scenario.py``; and its pure parts (names and
points from the ZIP package, stages, the summary, where names go on the map).

What is pinned: the sentences and figures an organiser reads; that a place with fewer than 5
people is never named anywhere on the page (text, tables, chart data), however its signups
were credited; that places the ZIP package cannot locate are listed, not drawn; and what an
empty, a tiny or a warehouse outside the map's coverage shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

from dashboard import local_groups, place_map, postal
from dashboard.queries import Window, places
from pipeline.warehouse.client import get_client
from tests.places_scenario import (
    HIDDEN,
    NO_POSTAL_CODE,
    OTHER_PEOPLE,
    POST_TEXT,
    SIGNUP_COLUMNS,
    THREAD_TITLE,
    empty_places,
    person,
    seed_places,
)
from tests.test_dashboard import dashboard_env as dashboard_env
from tests.test_dashboard import markdown_text, metric, open_page, table_with

SEATTLE, TACOMA, PORTLAND = "Seattle, WA (981)", "Tacoma, WA (984)", "Portland, OR (972)"
IDAHO, LONDON, UNKNOWN = "Coeur D Alene, ID (838)", "SW1, London (GB)", "000 (US)"
SUMMARY = [
    f"**Big enough to split:** {SEATTLE}, 56 people. Past 50 people one group cannot know "
    "everyone by name: if a group meets there, help it split in two.",
    f"**Ready for a local group:** {TACOMA}, 14 people (+8 in the last 7 days); {PORTLAND}, "
    "11 people. Ask someone there to host a first meeting, if no group meets there yet.",
    f"**Growing fastest** in the last 7 days: {TACOMA}, +8 (+133%); {LONDON}, +2 (+40%); "
    f"{SEATTLE}, +10 (+22%).",
    f"**New places:** {IDAHO}, 6 people; {UNKNOWN}, 5 people. The first signup there came in "
    "the last 7 days.",
]
# label: (stage, people, new in the last 7 days, the 7 days before, signups, driven most by)
TABLE = {
    SEATTLE: ("Big enough to split", 56, 10, 6, 13, "Mayor Alicia Torres (4)"),
    TACOMA: ("Ready for a local group", 14, 8, 6, 8, "Omar Haddad (5)"),
    PORTLAND: ("Ready for a local group", 11, 0, 2, 1, ""),
    LONDON: ("Growing", 7, 2, 2, 2, ""),
    IDAHO: ("Growing", 6, 6, 0, 6, f"{THREAD_TITLE} (2)"),
    UNKNOWN: ("Growing", 5, 5, 0, 5, ""),
    "Other places": ("fewer than 5 people each", OTHER_PEOPLE, 4, 1, 4, ""),
}


@pytest.fixture(scope="module")
def warehouse(own_warehouse: str) -> str:
    reseed(own_warehouse)
    return own_warehouse


def reseed(url: str) -> None:
    client = get_client(url=url)
    empty_places(client)
    seed_places(client, datetime.now(UTC))


@pytest.fixture
def restore(warehouse: str) -> Iterator[str]:
    """For tests that change the warehouse: the scenario is written back afterwards."""
    yield warehouse
    reseed(warehouse)


def chart_frames(at: AppTest) -> list[pd.DataFrame]:
    """The data behind every chart on the page (Streamlit ships it beside the spec)."""
    return [
        dataframe_util.convert_arrow_bytes_to_pandas_df(d.data.data)
        for chart in at.get("vega_lite_chart")
        for d in chart.proto.datasets
    ]


def words(df: pd.DataFrame) -> str:
    # Text columns only: numbers and times would hold any three digits by chance.
    return df.select_dtypes(include=["object", "string"]).to_csv(index=False)


def everything_shown(at: AppTest) -> str:
    """Every text of the page, its tables' text cells and its charts' text data, as one
    string (the map's outline dots are coordinates, not places, and are left out)."""
    parts = [markdown_text(at)]
    parts += [e.value for e in (*at.info, *at.caption, *at.error, *at.warning, *at.title)]
    parts += [f"{m.label} {m.value} {m.delta}" for m in at.metric]
    parts += [words(df.value) for df in at.dataframe]
    parts += [words(df) for df in chart_frames(at)]
    parts += [str(o) for s in at.selectbox for o in s.options]
    return "\n".join(parts)


# --- The page over the scenario ----------------------------------------------------------


def test_places_says_where_to_start_and_where_to_split(warehouse: str, dashboard_env: Any) -> None:
    at = open_page(warehouse, dashboard_env, "places")
    assert at.title[0].value == "Places"
    assert at.query_params["window"] == "7d"  # the page's own default: groups grow over days
    assert at.info[0].value.split("\n\n") == SUMMARY
    privacy = [c.value for c in at.caption if c.value.startswith("Places with fewer than 5")]
    assert privacy == [
        f"Places with fewer than 5 people are never shown on their own: {OTHER_PEOPLE} people "
        f"in such places are counted together as *Other places*. {NO_POSTAL_CODE} people gave "
        "no postal code."
    ]
    assert metric(at, "Places with 5+ people").value == "6"
    assert metric(at, "Places with 5+ people").delta == "+2 new"
    new = metric(at, "New people, last 7 days")
    # Everyone new in the window: other places and no postal code included.
    assert (new.value, new.delta) == ("38", "+21 (+124%)")
    assert metric(at, "Ready for a local group").value == "2"
    assert metric(at, "Big enough to split").value == "1"

    table = table_with(at, "stage_label")
    got = {
        r.label: (r.stage_label, r.people, r.new_people, r.previous_new, r.signups, r.driver)
        for r in table.itertuples()
    }
    assert got == TABLE
    assert list(table["label"]) == list(TABLE)  # biggest first, Other places last
    assert table.set_index("label")["on_map"].to_dict() == {
        SEATTLE: True, TACOMA: True, PORTLAND: True, LONDON: False, IDAHO: True,
        UNKNOWN: False, "Other places": False,
    }  # fmt: skip


def test_places_map_draws_only_what_the_zip_data_can_place(
    warehouse: str, dashboard_env: Any
) -> None:
    at = open_page(warehouse, dashboard_env, "places")
    frames = chart_frames(at)
    circles = next(f for f in frames if "stage_label" in f.columns)
    assert sorted(circles["label"]) == sorted([SEATTLE, TACOMA, PORTLAND, IDAHO])
    seattle = circles.set_index("label").loc[SEATTLE]
    assert 47.4 < seattle["latitude"] < 47.8 and -122.5 < seattle["longitude"] < -122.2
    # Every circle on this map has room for its name.
    names = [f for f in frames if list(f.columns) == list(circles.columns) and len(f) == 1]
    assert sorted(f["label"].iloc[0] for f in names) == sorted(circles["label"])
    assert any(
        "2 places are outside the map's US ZIP codes: see the table below." in c.value
        for c in at.caption
    )
    # The people chart has the six biggest places, each ending at its people today.
    people = next(f for f in frames if "people" in f.columns and "bucket" in f.columns)
    last = people.sort_values("bucket").groupby("label")["people"].last().to_dict()
    assert last == {label: row[1] for label, row in TABLE.items() if label != "Other places"}


def test_places_never_names_a_place_under_five_people(warehouse: str, dashboard_env: Any) -> None:
    at = open_page(warehouse, dashboard_env, "places")
    shown = everything_shown(at)
    for prefix in HIDDEN:
        assert prefix not in shown
    # Nor what points at them: the hidden places' regions, cities and their only driver.
    for clue in ("Concord", "Kim Lee", ", CA", "CA ("):
        assert clue not in shown
    # Never more precise than the stored prefix, nor even as precise as a 4-digit one: Tacoma's
    # signups stored 9840, the page says 984.
    assert "9840" not in shown and "(984)" in shown


def test_places_drivers_of_a_chosen_place(warehouse: str, dashboard_env: Any) -> None:
    at = open_page(warehouse, dashboard_env, "places")
    # The place that gained most people comes first: that is where a thank-you counts.
    assert at.selectbox(key="places_place").value == "US:981"
    assert (
        f"In **{SEATTLE}**, signups of the last 7 days came most through **Mayor Alicia Torres** "
        f"(validator, 4), **{THREAD_TITLE}** (thread, 2) and **@amy: {POST_TEXT}** (post, 1)."
    ) in markdown_text(at)
    drivers = table_with(at, "kind")
    assert list(zip(drivers["kind"], drivers["signups"], strict=True)) == [
        ("Validator", 4), ("Thread", 2), ("Post", 1),
    ]  # fmt: skip
    assert drivers["url"].tolist()[1:] == [
        "https://forum.example/t/1",
        "https://x.example/amy/status/1",
    ]

    at.selectbox(key="places_place").set_value("US:838").run()
    assert (
        f"In **{IDAHO}**, signups of the last 7 days came most through **{THREAD_TITLE}** "
        "(thread, 2)." in markdown_text(at)
    )
    at.selectbox(key="places_place").set_value("US:972").run()
    assert (
        f"No signup in {PORTLAND} in the last 7 days was credited to a validator, a thread or "
        "a post." in markdown_text(at)
    )


def test_drivers_keep_the_top_ones_of_each_place_with_their_labels(warehouse: str) -> None:
    client = get_client(url=warehouse)
    window = Window.now(7 * 1440, 1440)
    every = places.drivers(client, window)
    top = places.drivers(client, window, per_place=1)
    # One per place, the one with most signups, labelled as in the full list.
    assert top.groupby(["country", "place"]).size().max() == 1
    assert set(top["place"]) == set(every["place"])
    for r in top.itertuples():
        theirs = every[(every["country"] == r.country) & (every["place"] == r.place)]
        best = theirs.sort_values("signups", ascending=False).iloc[0]
        assert (r.kind, r.target_id, r.signups, r.label, r.url) == (
            best.kind, best.target_id, best.signups, best.label, best.url,
        )  # fmt: skip
    assert ("981", "Mayor Alicia Torres", 4) in {
        (r.place, r.label, r.signups) for r in top.itertuples()
    }


def test_places_longer_window(warehouse: str, dashboard_env: Any) -> None:
    at = open_page(warehouse, dashboard_env, "places")
    at.segmented_control(key="places_window").set_value("90d").run()
    assert at.query_params["window"] == "90d"
    table = table_with(at, "stage_label").set_index("label")
    # 90 days take in everyone: every place is new, with all its people.
    assert table["new_people"].to_dict() == {label: row[1] for label, row in TABLE.items()}
    total = sum(row[1] for row in TABLE.values()) + NO_POSTAL_CODE
    assert metric(at, "New people, last 90 days").value == str(total)
    assert metric(at, "Places with 5+ people").delta == "+6 new"
    # Signups offers no 90 days: it opens on its default and says so in the address bar.
    at.switch_page("views/signups.py").run()
    assert at.query_params["window"] == "1h"


# --- The privacy rule at its edge, and warehouses that give the page less to show ----------


def add_signups(url: str, rows: list[tuple[str, str, str, str, str]], now: datetime) -> None:
    """(event id, country, region, prefix, person) signups of 3 hours ago."""
    at = now - timedelta(hours=3)
    get_client(url=url).insert(
        "buzz.signups",
        [
            [e, "forms", at, at, "web", "volunteer", c, r, p, person(who)]
            for e, c, r, p, who in rows
        ],
        column_names=SIGNUP_COLUMNS,
    )


def test_the_fifth_person_names_a_place_a_repeat_does_not(restore: str) -> None:
    now = datetime.now(UTC)
    client = get_client(url=restore)
    window = Window.now(7 * 1440, 120)

    def named() -> dict[str, int]:
        df = places.places(client, window)
        return dict(zip(df["place"], df["people"], strict=True))

    assert "945" not in named() and named()["other"] == OTHER_PEOPLE
    add_signups(restore, [("again", "US", "CA", "945", "945-0")], now)  # one of its 4, once more
    assert "945" not in named()
    add_signups(restore, [("fifth", "US", "CA", "9451", "someone new")], now)
    assert named()["945"] == 5 and named()["other"] == OTHER_PEOPLE - 4


def test_places_outside_the_maps_coverage_are_a_table(restore: str, dashboard_env: Any) -> None:
    client = get_client(url=restore)
    empty_places(client)
    now = datetime.now(UTC)
    add_signups(restore, [(f"gb{i}", "GB", "Manchester", "M1", f"m{i}") for i in range(6)], now)
    at = open_page(restore, dashboard_env, "places")
    assert any("can be drawn on the map, which knows US ZIP codes only" in i.value for i in at.info)
    assert not any("stage_label" in f.columns for f in chart_frames(at))  # no map
    table = table_with(at, "stage_label")
    assert table["label"].tolist() == ["M1, Manchester (GB)"] and table["people"].tolist() == [6]


def test_places_with_only_small_places_names_none(restore: str, dashboard_env: Any) -> None:
    client = get_client(url=restore)
    empty_places(client)
    now = datetime.now(UTC)
    add_signups(restore, [(f"s{i}", "US", "WA", "981", f"p{i}") for i in range(4)], now)
    at = open_page(restore, dashboard_env, "places")
    assert at.info[0].value.startswith("No place has 5 people yet.")
    assert any("4 people in such places are counted together" in c.value for c in at.caption)
    assert metric(at, "Places with 5+ people").value == "0"
    assert not at.dataframe and not at.get("vega_lite_chart")
    assert "981" not in everything_shown(at)


def test_places_on_an_empty_warehouse_says_how_to_start(restore: str, dashboard_env: Any) -> None:
    empty_places(get_client(url=restore))
    at = open_page(restore, dashboard_env, "places")
    assert "No signups yet" in at.info[0].value and "buzz up --demo" in at.info[0].value
    assert not at.error and not at.metric


# --- Pure parts ------------------------------------------------------------------------------


def test_zip_prefixes_are_named_and_placed_offline() -> None:
    seattle = postal.locate("US", "981")
    assert seattle is not None and seattle.name == "Seattle, WA"
    assert 47.4 < seattle.latitude < 47.8 and -122.5 < seattle.longitude < -122.2
    assert postal.locate("us", "981 ") == seattle
    washington = postal.locate("US", "98")
    assert washington is not None and washington.name == "WA"
    # Outside the package: another country, a prefix no ZIP starts with, letters.
    assert postal.locate("GB", "SW1") is None
    assert postal.locate("US", "000") is None
    assert postal.locate("US", "K1A") is None
    assert postal.locate("", "981") is None


@pytest.mark.parametrize(
    ("people", "stage"),
    [(5, "growing"), (9, "growing"), (10, "start"), (49, "start"), (50, "split")],
)
def test_stage_thresholds(people: int, stage: str) -> None:
    assert local_groups.stage(people) == stage


def test_summary_when_nothing_grew() -> None:
    start = datetime(2026, 11, 20, tzinfo=UTC)
    rows = pd.DataFrame(
        {
            "country": ["US"], "place": ["972"], "region": ["OR"], "people": [7],
            "new_people": [0], "previous_new": [3], "signups": [1],
            "first_signup_at": [pd.Timestamp("2026-10-01", tz="UTC")],
        }
    )  # fmt: skip
    named = local_groups.named_places(rows, start)
    assert local_groups.summary_lines(named, "7 days") == [
        "**No new people** in any place in the last 7 days."
    ]


def test_map_names_do_not_overlap() -> None:
    # Seattle's name goes above it. Tacoma's would cover Seattle's circle above its own, so it
    # goes below. Kent, east between them, has both taken: its name goes right. Bellevue
    # sits under Seattle's circle: no room, the tooltip names it. Boise is far from them all.
    points = pd.DataFrame(
        {
            "label": ["Seattle, WA (981)", "Tacoma, WA (984)", "Kent, WA (980)",
                      "Bellevue, WA (980)", "Boise (837)"],
            "latitude": [47.61, 47.20, 47.40, 47.60, 43.6],
            "longitude": [-122.33, -122.33, -121.7, -122.28, -116.2],
            "people": [60, 20, 12, 9, 8],
        }
    )  # fmt: skip
    box = place_map.Box.around(points)
    names = place_map.name_positions(points, box, labelled=10)
    sides = {i: (n.align, n.dy < 0, n.dy > 0, n.dx > 0) for i, n in names.items()}
    assert sides == {
        0: ("center", True, False, False),
        1: ("center", False, True, False),
        2: ("left", False, False, True),
        4: ("center", True, False, False),
    }
    assert place_map.name_positions(points, box, labelled=1).keys() == {0}
