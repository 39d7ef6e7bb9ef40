"""The shape of the seeded campaign: sizes, time range, subjects and validators, and SQL helpers.

Everything is derived from the number of mentions asked for, in the proportions of a busy
campaign (per 10 million mentions over 30 days: ~12 million subject scores, 10,000 validator
posts, 20,000 threads of 25 posts, 50,000 signups, 10,000 dead letters, a few thousand alerts).
Rows are generated inside the warehouse from ``numbers()``; every "random" choice is a hash of
the row number, so a given size always produces the same data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pipeline.campaign import Campaign, Validator
from pipeline.scoring.validator_reach import validator_key

DAY = 86_400
SPAN_DAYS = 30
ID0 = 1_790_000_000_000  # first platform id: event ids look like x:1790000001234
VALIDATOR_PERIOD = 1000  # one validator post every this many mentions...
VALIDATOR_OFFSET = 7
MEMBER_STEP = 10  # ...and every tenth mention after it reshares or replies to its cascade
EPISODE_EVERY = 60 * 3600  # a spike every 60 hours, each 20 minutes long
EPISODE_SECONDS = 1200
LIVE_EPISODE_AGO = 1800  # the newest spike (an attack) starts 30 minutes before the seed ends
BURST_PERMILLE = 12  # mentions that belong to a spike rather than the daily rhythm
REPLAY_PERMILLE = 3  # mentions delivered twice (a replay), so FINAL has work to do
RHYTHM = 0.6  # daily rhythm: busiest hour ~4x the quietest, busiest at 18:00 UTC
PEAK_HOUR_UTC = 18
SUBJECT_PERMILLE = {"candidate": 500, "rival": 300, "issue": 200}
VALIDATOR_GROUPS = ("local officials", "unions", "faith leaders", "bloggers", "community figures")
TITLES = ("Councillor", "Pastor", "Dr.", "Coach", "Organizer", "Editor")
FIRST = ("Maria", "James", "Aisha", "Tom", "Priya", "Kevin", "Lucia", "Omar", "Grace", "Luis")
LAST = ("Lopez", "Nguyen", "Patel", "Olsen", "Brooks", "Garcia", "Chen", "Walsh", "Haddad")


def sql_str(value: str) -> str:
    """A ClickHouse string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def sql_strs(values: Iterable[str]) -> str:
    return "[" + ", ".join(sql_str(v) for v in values) + "]"


def sql_nums(values: Iterable[float]) -> str:
    return "[" + ", ".join(repr(v) for v in values) + "]"


def sql_time(moment: datetime) -> str:
    return f"toDateTime64({sql_str(moment.strftime('%Y-%m-%d %H:%M:%S.%f')[:-3])}, 3, 'UTC')"


def h(idx: str, k: int) -> str:
    """A 64-bit hash of row ``idx`` for choice number ``k``."""
    return f"cityHash64({idx}, {k})"


def u(idx: str, k: int) -> str:
    """A uniform number in [0, 1) for row ``idx``, choice ``k``."""
    return f"(cityHash64({idx}, {k}) % 1000003) / 1000003"


@dataclass(frozen=True)
class BenchValidator:
    key: str
    name: str
    group: str
    trust: float
    handle: str  # on x, where every validator of the seed posts
    audience: int


def bench_validators(campaign: Campaign, count: int) -> list[BenchValidator]:
    """The campaign's validators, then made-up ones up to ``count`` (a busy campaign has dozens)."""
    found: list[BenchValidator] = []
    for v in campaign.validators:
        handle = v.handles.get("x") or next(iter(v.handles.values()))
        found.append(_validator(v, handle.lstrip("@").lower(), 5_000 + 7_919 * len(found)))
    i = 0
    while len(found) < count:
        name = f"{TITLES[i % len(TITLES)]} {FIRST[i % len(FIRST)]} {LAST[i // len(FIRST) % 9]}"
        v = Validator(
            name=f"{name} {i}",
            group=VALIDATOR_GROUPS[i % len(VALIDATOR_GROUPS)],
            trust_weight=1.0 + (i % 5) * 0.5,
            handles={"x": f"validator{i}"},
        )
        found.append(_validator(v, f"validator{i}", 2_000 + 3_571 * i % 90_000))
        i += 1
    return found


def _validator(v: Validator, handle: str, audience: int) -> BenchValidator:
    return BenchValidator(validator_key(v), v.name, v.group, v.trust_weight, handle, audience)


@dataclass(frozen=True)
class Shape:
    """Sizes and times of one seed; ``start`` is 30 days before ``end`` (the seed's "now")."""

    mentions: int
    end: datetime
    campaign: Campaign
    validators: list[BenchValidator] = field(default_factory=list)

    @classmethod
    def build(cls, mentions: int, end: datetime, campaign: Campaign) -> Shape:
        return cls(mentions, end, campaign, bench_validators(campaign, 48))

    @property
    def start(self) -> datetime:
        return self.end - timedelta(days=SPAN_DAYS)

    @property
    def span(self) -> float:
        return float(SPAN_DAYS * DAY)

    @property
    def seconds_per_mention(self) -> float:
        return self.span / self.mentions

    @property
    def delta(self) -> float:
        """Phase of the daily rhythm so that the busiest time of day is PEAK_HOUR_UTC."""
        tod = self.start.hour * 3600 + self.start.minute * 60 + self.start.second
        return float((tod - (PEAK_HOUR_UTC - 12) * 3600) % DAY)

    @property
    def episodes(self) -> int:
        return int((self.span - LIVE_EPISODE_AGO) // EPISODE_EVERY) + 1

    @property
    def threads(self) -> int:
        return max(20, self.mentions // 500)

    @property
    def signups(self) -> int:
        return max(50, self.mentions // 200)

    @property
    def alerts(self) -> int:
        return max(30, self.mentions // 2500)

    @property
    def dead_letters(self) -> int:
        return max(20, self.mentions // 1000)

    # Campaign arrays, as SQL literals.
    @property
    def subject_ids(self) -> list[str]:
        return [s.id for s in self.campaign.subjects]

    @property
    def episode_subjects(self) -> list[str]:
        """Whom the spikes are about, in turn: the candidate (an attack), a rival, an issue."""
        kinds = ("candidate", "rival", "issue")
        chosen = [next((s.id for s in self.campaign.subjects if s.kind == k), "") for k in kinds]
        return [s or self.campaign.subjects[0].id for s in chosen]

    def subject_terms(self) -> str:
        return sql_strs(s.terms[0] for s in self.campaign.subjects)

    def subject_kinds(self) -> str:
        return sql_strs(s.kind for s in self.campaign.subjects)

    def subject_permille(self) -> str:
        return sql_nums(SUBJECT_PERMILLE[s.kind] for s in self.campaign.subjects)


def rhythm_amplitude() -> float:
    """Seconds of the daily time warp (see ``seed_mentions.time_sql``)."""
    return RHYTHM * DAY / (2 * math.pi)
