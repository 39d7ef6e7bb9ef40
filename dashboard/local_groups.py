"""The Places page's answers for organisers, as pure functions over the query results.

The movement grows as local groups that split when they get big, so every named place is put
in one of three stages by the people who have signed up there so far:

- **growing** (5 to 9 people): not yet enough for a group; keep it in mind;
- **ready for a local group** (``START_AT`` = 10 or more): enough for a first meeting of a
  handful of active people, the usual seed of a local group;
- **big enough to split** (``SPLIT_AT`` = 50 or more): past what one group can know by name
  and meet in a living room, so an existing group there should think about splitting in two.

Places under ``MIN_PEOPLE`` (5) are never named (the warehouse view merges them into
"other"); the page says so. Names and map points come from :mod:`dashboard.postal`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

import pandas as pd

from dashboard import postal
from dashboard.queries.places import OTHER

MIN_PEOPLE = 5  # the k of k-anonymity; buzz.signup_places (migration 0020) applies it
START_AT = 10
SPLIT_AT = 50
Stage = Literal["split", "start", "growing"]
STAGE_LABELS: dict[Stage, str] = {
    "split": "Big enough to split",
    "start": "Ready for a local group",
    "growing": "Growing",
}
NAMED_IN_SUMMARY = 3  # places named per sentence; the table has the rest


def stage(people: int) -> Stage:
    if people >= SPLIT_AT:
        return "split"
    if people >= START_AT:
        return "start"
    return "growing"


def place_label(country: str, place: str, region: str, info: postal.PlaceInfo | None) -> str:
    """'Seattle, WA (981)' where the place is known, else the code with what the signups said:
    'SW1, London (GB)'."""
    if info is not None:
        return f"{info.name} ({place})"
    where = f"{place}, {region}" if region else place
    return f"{where} ({country})" if country else where


def named_places(places: pd.DataFrame, window_start: datetime) -> pd.DataFrame:
    """The named places (5+ people) with their label, stage, map point and growth.

    Adds ``label``, ``stage``, ``stage_label``, ``latitude``/``longitude`` (NaN off the map),
    ``on_map``, ``is_new`` (first signup in the window) and ``growth`` (new people over the
    people there before the window; NaN for a new place).
    """
    named = places[~places["place"].isin(["", OTHER])].copy()
    infos = [postal.locate(c, p) for c, p in zip(named["country"], named["place"], strict=True)]
    named["label"] = [
        place_label(c, p, r, i)
        for c, p, r, i in zip(named["country"], named["place"], named["region"], infos, strict=True)
    ]
    named["latitude"] = [i.latitude if i else float("nan") for i in infos]
    named["longitude"] = [i.longitude if i else float("nan") for i in infos]
    named["on_map"] = [i is not None for i in infos]
    named["stage"] = [stage(int(p)) for p in named["people"]]
    named["stage_label"] = named["stage"].map(STAGE_LABELS)
    named["is_new"] = named["first_signup_at"] >= pd.Timestamp(window_start)
    before = named["people"] - named["new_people"]
    named["growth"] = (named["new_people"] / before.where(before > 0)).astype(float)
    return named.reset_index(drop=True)


def merged_people(places: pd.DataFrame) -> tuple[int, int]:
    """(people in places under 5, merged as other; people who gave no postal code)."""

    def people(place: str) -> int:
        return int(places.loc[places["place"] == place, "people"].sum())

    return people(OTHER), people("")


def _people(n: int) -> str:
    return f"{n:,} {'person' if n == 1 else 'people'}"


def _listing(rows: Iterable[str], total: int) -> str:
    shown = list(rows)
    more = total - len(shown)
    text = "; ".join(shown)
    return f"{text}; and {more} more" if more > 0 else text


def summary_lines(named: pd.DataFrame, window_label: str) -> list[str]:
    """What an organiser should know first, in a few sentences (Markdown), most useful first:
    where a group is big enough to split, where one could start, where it grows fastest and
    which places are new."""
    if named.empty:
        return [
            f"No place has {MIN_PEOPLE} people yet. A place is shown once {MIN_PEOPLE} people "
            "there have signed up; until then it is counted under *Other places*."
        ]
    lines = []
    split = named[named["stage"] == "split"].sort_values(
        ["people", "label"], ascending=[False, True]
    )
    if not split.empty:
        rows = (
            f"{r.label}, {_people(int(r.people))}"
            for r in split.head(NAMED_IN_SUMMARY).itertuples()
        )
        lines.append(
            f"**Big enough to split:** {_listing(rows, len(split))}. Past {SPLIT_AT} people one "
            "group cannot know everyone by name: if a group meets there, help it split in two."
        )
    ready = named[named["stage"] == "start"].sort_values(
        ["new_people", "people", "label"], ascending=[False, False, True]
    )
    if not ready.empty:
        rows = (
            f"{r.label}, {_people(int(r.people))}"
            + (f" (+{int(r.new_people)} in the last {window_label})" if r.new_people else "")
            for r in ready.head(NAMED_IN_SUMMARY).itertuples()
        )
        lines.append(
            f"**Ready for a local group:** {_listing(rows, len(ready))}. Ask someone there to "
            "host a first meeting, if no group meets there yet."
        )
    # Fastest is a rate: against the people there before the window, so a big place does not
    # win on size alone. New places have no "before"; they get their own sentence.
    growing = named[(named["new_people"] > 0) & named["growth"].notna()].sort_values(
        ["growth", "new_people", "label"], ascending=[False, False, True]
    )
    if not growing.empty:
        rows = (
            f"{r.label}, +{int(r.new_people)} ({r.growth:+.0%})"
            for r in growing.head(NAMED_IN_SUMMARY).itertuples()
        )
        lines.append(
            f"**Growing fastest** in the last {window_label}: {_listing(rows, len(growing))}."
        )
    elif not named["is_new"].any():
        lines.append(f"**No new people** in any place in the last {window_label}.")
    new = named[named["is_new"]].sort_values(["people", "label"], ascending=[False, True])
    if not new.empty:
        rows = (
            f"{r.label}, {_people(int(r.people))}" for r in new.head(NAMED_IN_SUMMARY).itertuples()
        )
        lines.append(
            f"**New {'place' if len(new) == 1 else 'places'}:** {_listing(rows, len(new))}. "
            f"The first signup there came in the last {window_label}."
        )
    return lines


def privacy_note(other_people: int, no_postal_code: int) -> str:
    note = f"Places with fewer than {MIN_PEOPLE} people are never shown on their own: " + (
        f"{_people(other_people)} in such places are counted together as *Other places*."
        if other_people
        else "there are none right now."
    )
    if no_postal_code:
        note += f" {_people(no_postal_code).capitalize()} gave no postal code."
    return note


def growth_series(
    named: pd.DataFrame, over_time: pd.DataFrame, buckets: pd.DatetimeIndex, top: int = 6
) -> pd.DataFrame:
    """People so far in each of the ``top`` biggest places at the end of every bucket
    (``bucket``, ``label``, ``people``): what was there before the window plus the new people
    bucket by bucket, so each line ends at the place's people today."""
    chosen = named.sort_values(["people", "label"], ascending=[False, True]).head(top)
    frames = []
    for r in chosen.itertuples():
        mine = over_time[(over_time["country"] == r.country) & (over_time["place"] == r.place)]
        per_bucket = mine.groupby("bucket")["new_people"].sum().reindex(buckets, fill_value=0)
        before = int(r.people) - int(r.new_people)
        frames.append(
            pd.DataFrame(
                {
                    "bucket": buckets,
                    "label": r.label,
                    "people": before + per_bucket.cumsum().to_numpy(),
                }
            )
        )
    if not frames:
        return pd.DataFrame(
            {"bucket": pd.Series(dtype="datetime64[ns, UTC]"), "label": [], "people": []}
        )
    return pd.concat(frames, ignore_index=True)


def top_driver(drivers: pd.DataFrame) -> dict[tuple[str, str], str]:
    """(country, place) -> the validator, thread or post most of its signups came through."""
    best = drivers.sort_values(["signups", "label"], ascending=[False, True]).drop_duplicates(
        ["country", "place"]
    )
    return {
        (str(r.country), str(r.place)): f"{r.label} ({int(r.signups)})" for r in best.itertuples()
    }


def place_table(named: pd.DataFrame, places: pd.DataFrame, drivers: pd.DataFrame) -> pd.DataFrame:
    """Every named place, biggest first, with what drove it most (``driver``), then one
    *Other places* row for everyone in places under ``MIN_PEOPLE``."""
    best = top_driver(drivers)
    table = named.assign(
        driver=[
            best.get((str(c), str(p)), "")
            for c, p in zip(named["country"], named["place"], strict=True)
        ]
    ).sort_values(["people", "label"], ascending=[False, True])
    other = places[places["place"] == OTHER]
    if other.empty:
        return table
    row = other.iloc[0]
    merged = {
        "label": "Other places",
        "stage_label": f"fewer than {MIN_PEOPLE} people each",
        "driver": "",
        "on_map": False,
    } | {col: int(row[col]) for col in ("people", "new_people", "previous_new", "signups")}
    return pd.concat([table, pd.DataFrame([merged])], ignore_index=True)


KIND_WORDS = {"validator": "validator", "thread": "thread", "mention": "post"}


def drivers_sentence(label: str, mine: pd.DataFrame, window_label: str) -> str:
    """'In Seattle, WA (981), signups of the last 7 days came most through Mayor Alicia Torres
    (validator, 3) and …'."""
    if mine.empty:
        return (
            f"No signup in {label} in the last {window_label} was credited to a validator, "
            "a thread or a post."
        )
    parts = [
        f"**{r.label}** ({KIND_WORDS.get(str(r.kind), str(r.kind))}, {int(r.signups)})"
        for r in mine.head(NAMED_IN_SUMMARY).itertuples()
    ]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"In **{label}**, signups of the last {window_label} came most through {listed}."
