"""A known spread of signups over places, written into the warehouse for the Places tests.

Times are relative to now and kept clear of the edges of the 7-day window and of the last
6 hours (which the other pages' scenario owns): *older* signups came 20 to 40 days ago, the
*previous* ones 8 to 13 days ago (the 7 days before the window), *recent* ones between 8 hours
and 6 days ago. Each person has their own email HMAC; the figures the tests expect are the
constants below, derived by hand from these rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from clickhouse_connect.driver.client import Client


@dataclass(frozen=True)
class Place:
    country: str
    region: str
    prefix: str  # as a source would store it (up to 4 characters)
    older: int
    previous: int
    recent: int

    @property
    def people(self) -> int:
        return self.older + self.previous + self.recent


PLACES = [
    Place("US", "WA", "981", older=40, previous=6, recent=10),  # Seattle: big enough to split
    Place("US", "WA", "9840", older=0, previous=6, recent=8),  # Tacoma, stored as 4 digits
    Place("US", "OR", "972", older=9, previous=2, recent=0),  # Portland: ready, quiet this week
    Place("US", "ID", "838", older=0, previous=0, recent=6),  # new this week
    Place("GB", "London", "SW1A", older=3, previous=2, recent=2),  # outside the map's coverage
    Place("US", "", "000", older=0, previous=0, recent=5),  # no US ZIP code starts with 000
    Place("US", "CA", "945", older=0, previous=1, recent=3),  # 4 people: never shown
    Place("US", "OR", "970", older=0, previous=0, recent=1),  # 1 person: never shown
]
HIDDEN = ("945", "970")
OTHER_PEOPLE = 4 + 1
NO_POSTAL_CODE = 3
REPEATS_981 = 3  # recent Seattle people who also RSVP'd to an event in the window
REPEATS_972 = 1  # an older Portland supporter came back to an event in the window

# Last-touch attribution of recent signups: (prefix, kind, target, how many).
DRIVERS = [
    ("981", "validator", "mayor-alicia-torres", 4),
    ("981", "thread", "t1", 2),
    ("981", "mention", "x:c1", 1),
    ("9840", "validator", "omar-haddad", 5),
    ("838", "thread", "t1", 2),
    ("945", "validator", "kim-lee", 2),  # a hidden place: never named with its driver
]
VALIDATORS = {
    "mayor-alicia-torres": "Mayor Alicia Torres",
    "omar-haddad": "Omar Haddad",
    "kim-lee": "Kim Lee",
}
THREAD_TITLE = "Riverline extension: who pays?"
POST_TEXT = "Proud to back Jordan Kim for the Riverline"

SIGNUP_COLUMNS = [
    "event_id",
    "platform",
    "occurred_at",
    "ingested_at",
    "channel",
    "form",
    "country",
    "region",
    "postal_prefix",
    "email_hmac",
]
ATTRIBUTION_COLUMNS = ["event_id", "occurred_at", "channel", "form", "kind", "target_id", "via"]


def person(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def _spread(count: int, first_hours: float, last_hours: float) -> list[float]:
    """``count`` moments between two ages (hours ago), oldest first."""
    if count == 1:
        return [first_hours]
    step = (first_hours - last_hours) / (count - 1)
    return [first_hours - i * step for i in range(count)]


def signup_rows(now: datetime) -> tuple[list[list[Any]], list[list[Any]]]:
    signups: list[list[Any]] = []
    attribution: list[list[Any]] = []
    credits: dict[str, list[tuple[str, str]]] = {}
    for prefix, kind, target, n in DRIVERS:
        credits.setdefault(prefix, []).extend([(kind, target)] * n)

    def add(eid: str, hours_ago: float, p: Place, who: str, channel: str = "web") -> None:
        at = now - timedelta(hours=hours_ago)
        signups.append(
            [eid, "forms", at, at, channel, "volunteer", p.country, p.region, p.prefix, person(who)]
        )

    for p in PLACES:
        ages = (
            _spread(p.older, 40 * 24, 20 * 24)
            + _spread(p.previous, 13 * 24, 8 * 24)
            + _spread(p.recent, 6 * 24, 8)
        )
        mine = credits.get(p.prefix, [])
        for i, age in enumerate(ages):
            eid = f"place:{p.prefix}:{i}"
            add(eid, age, p, f"{p.prefix}-{i}")
            recent_index = i - p.older - p.previous
            if 0 <= recent_index < len(mine):
                kind, target = mine[recent_index]
                via = "referral_code" if kind == "validator" else "utm_content"
                at = now - timedelta(hours=age)
                attribution.append([eid, at, "web", "volunteer", kind, target, via])
    seattle, portland = PLACES[0], PLACES[2]
    for i in range(REPEATS_981):  # the first recent Seattle people, again at an event
        add(f"place:981:event{i}", 10 + i, seattle, f"981-{seattle.older + seattle.previous + i}",
            "event")  # fmt: skip
    for i in range(REPEATS_972):
        add(f"place:972:event{i}", 30 + i, portland, f"972-{i}", "event")
    nowhere = Place("US", "", "", 0, 0, 0)
    for i in range(NO_POSTAL_CODE):
        add(f"place:none:{i}", 20 + i, nowhere, f"none-{i}")
    return signups, attribution


def seed_place_signups(client: Client, now: datetime) -> None:
    """Add the places' signups and their attributions to whatever the warehouse holds (the
    targets have the keys of the dashboard scenario's validators, thread and post)."""
    signups, attribution = signup_rows(now)
    client.insert("buzz.signups", signups, column_names=SIGNUP_COLUMNS)
    client.insert("buzz.signup_attribution", attribution, column_names=ATTRIBUTION_COLUMNS)


def seed_places(client: Client, now: datetime) -> None:
    """The places' signups, and what their drivers' labels name: validators, thread, post."""
    seed_place_signups(client, now)
    client.insert(
        "buzz.validators",
        [[key, name, "local officials", 8.0] for key, name in VALIDATORS.items()],
        column_names=["validator", "name", "group_name", "trust_weight"],
    )
    client.insert(
        "buzz.thread_scores",
        [["t1", THREAD_TITLE, "transit", "https://forum.example/t/1", now, now]],
        column_names=["thread_id", "thread_title", "subject", "url", "first_post_at",
                      "last_post_at"],
    )  # fmt: skip
    client.insert(
        "buzz.mentions",
        [["x:c1", "x", now, now, "amy", "amy", POST_TEXT, "https://x.example/amy/status/1"]],
        column_names=["event_id", "platform", "occurred_at", "ingested_at", "author_id",
                      "author_handle", "text", "url"],
    )  # fmt: skip


def empty_places(client: Client) -> None:
    for table in ("signups", "signup_attribution", "validators", "thread_scores", "mentions"):
        client.command(f"TRUNCATE TABLE IF EXISTS buzz.{table}")
