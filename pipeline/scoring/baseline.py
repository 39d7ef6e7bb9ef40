"""The learned normal level of a per-minute series, by hour of day, as serialisable state.

For each subject the state keeps an exponentially weighted (EW) mean and variance in 24
hour-of-day buckets (a campaign is quiet at 4am and busy at 8pm, so one global mean would call
every evening a spike), plus one all-hours EW mean and variance used while a bucket is young.

- Cold start: the bucket estimate is shrunk towards the all-hours estimate with weight
  n / (n + prior_minutes), so a bucket with few observations mostly borrows from the global level.
  Until ``warmup_minutes`` observations exist in total there is no expectation at all (no alerts
  from an empty history).
- Early updates use weight max(alpha, 1/n), i.e. a plain running mean until the EW weight takes
  over, so the first value does not linger.
- Robustness: values are clipped at mean + ``clip_z`` * std before they update the state, so a
  spike does not teach the baseline that spikes are normal (Huber-style winsorising).
- Idempotence: a minute at or before the last one seen for a subject is ignored, so re-processing
  a window never double-counts. Minutes skipped between two updates count as zeros (quiet minutes
  emit no window), up to ``max_gap_fill`` of them.

The state is plain data (:meth:`BaselineState.to_dict` / :meth:`BaselineState.from_dict`) so it can
be stored in the warehouse and rebuilt at start-up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

STATE_VERSION = 1


@dataclass
class EwStats:
    mean: float = 0.0
    var: float = 0.0
    n: int = 0

    def update(self, x: float, alpha: float) -> None:
        self.n += 1
        a = max(alpha, 1.0 / self.n)
        diff = x - self.mean
        incr = a * diff
        self.mean += incr
        # EW variance update (West 1979; Finch 2009, "Incremental calculation of weighted mean
        # and variance"): exact for the running-mean phase, EW afterwards.
        self.var = (1.0 - a) * (self.var + diff * incr)

    def to_list(self) -> list[float]:
        return [self.mean, self.var, float(self.n)]

    @classmethod
    def from_list(cls, v: list[float]) -> EwStats:
        mean, var, n = v
        return cls(float(mean), max(0.0, float(var)), int(n))


@dataclass(frozen=True)
class BaselineParams:
    halflife_days: float = 7.0  # an hour-of-day bucket forgets half its weight in a week
    global_halflife_minutes: float = 24 * 60.0
    prior_minutes: float = 60.0  # bucket observations before it outweighs the global level
    warmup_minutes: int = 30  # no expectation before this many observations in total
    clip_z: float = 3.0
    min_std: float = 1.0  # below one mention a minute, noise dominates
    max_gap_fill: int = 24 * 60

    @property
    def bucket_alpha(self) -> float:
        # A bucket sees 60 minutes a day.
        return 1.0 - 0.5 ** (1.0 / (self.halflife_days * 60.0))

    @property
    def global_alpha(self) -> float:
        return 1.0 - 0.5 ** (1.0 / self.global_halflife_minutes)


@dataclass(frozen=True)
class Expectation:
    mean: float
    std: float
    n: int  # observations behind the estimate (all hours)


@dataclass
class SubjectBaseline:
    hours: list[EwStats] = field(default_factory=lambda: [EwStats() for _ in range(24)])
    overall: EwStats = field(default_factory=EwStats)
    last_minute: datetime | None = None


def floor_minute(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return at.astimezone(UTC).replace(second=0, microsecond=0)


@dataclass
class BaselineState:
    params: BaselineParams = field(default_factory=BaselineParams)
    subjects: dict[str, SubjectBaseline] = field(default_factory=dict)

    def expected(self, subject_id: str, at: datetime) -> Expectation | None:
        """The normal level at ``at`` for the subject, or None while still warming up."""
        sb = self.subjects.get(subject_id)
        if sb is None or sb.overall.n < self.params.warmup_minutes:
            return None
        return self._expectation(sb, floor_minute(at))

    def _expectation(self, sb: SubjectBaseline, minute: datetime) -> Expectation:
        bucket = sb.hours[minute.hour]
        w = bucket.n / (bucket.n + self.params.prior_minutes)
        mean = w * bucket.mean + (1 - w) * sb.overall.mean
        var = w * bucket.var + (1 - w) * sb.overall.var
        # Poisson-like floor: counts of mean m vary by about sqrt(m) even when history is flat.
        std = max(math.sqrt(var), math.sqrt(max(mean, 0.0)), self.params.min_std)
        return Expectation(mean, std, sb.overall.n)

    def fill_gap(self, subject_id: str, minute: datetime) -> int:
        """Learn zeros for the quiet minutes between the last one seen and ``minute``.

        Quiet minutes produce no window, so without this the baseline would only ever see busy
        minutes. Returns how many zeros were learned (at most ``max_gap_fill``).
        """
        minute = floor_minute(minute)
        sb = self.subjects.get(subject_id)
        if sb is None or sb.last_minute is None or minute <= sb.last_minute:
            return 0
        gap = int((minute - sb.last_minute) / timedelta(minutes=1)) - 1
        filled = 0
        for k in range(max(1, gap - self.params.max_gap_fill + 1), gap + 1):
            self._learn(sb, sb.last_minute + timedelta(minutes=k), 0.0)
            filled += 1
        sb.last_minute = minute - timedelta(minutes=1)
        return filled

    def update(self, subject_id: str, minute: datetime, value: float) -> bool:
        """Learn one minute's value; returns False when the minute was already seen."""
        minute = floor_minute(minute)
        sb = self.subjects.setdefault(subject_id, SubjectBaseline())
        if sb.last_minute is not None and minute <= sb.last_minute:
            return False
        self.fill_gap(subject_id, minute)
        self._learn(sb, minute, value)
        sb.last_minute = minute
        return True

    def _learn(self, sb: SubjectBaseline, minute: datetime, value: float) -> None:
        p = self.params
        # Clip against the expectation for *this* hour, so a normal evening peak is not clipped
        # by the quieter all-day level while a real spike is.
        if sb.overall.n >= p.warmup_minutes:
            exp = self._expectation(sb, minute)
            value = min(value, exp.mean + p.clip_z * exp.std)
        sb.hours[minute.hour].update(value, p.bucket_alpha)
        sb.overall.update(value, p.global_alpha)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe plain data (floats, ints, strings)."""
        p = self.params
        return {
            "version": STATE_VERSION,
            "params": {k: getattr(p, k) for k in BaselineParams.__dataclass_fields__},
            "subjects": {
                sid: {
                    "last_minute": sb.last_minute.isoformat() if sb.last_minute else None,
                    "overall": sb.overall.to_list(),
                    "hours": [h.to_list() for h in sb.hours],
                }
                for sid, sb in self.subjects.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BaselineState:
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported baseline state version {data.get('version')!r}")
        params = BaselineParams(**data.get("params", {}))
        subjects = {}
        for sid, raw in data.get("subjects", {}).items():
            hours = [EwStats.from_list(h) for h in raw["hours"]]
            if len(hours) != 24:
                raise ValueError(f"baseline for {sid!r} has {len(hours)} hour buckets, not 24")
            last = raw.get("last_minute")
            subjects[sid] = SubjectBaseline(
                hours=hours,
                overall=EwStats.from_list(raw["overall"]),
                last_minute=floor_minute(datetime.fromisoformat(last)) if last else None,
            )
        return cls(params=params, subjects=subjects)


def anomaly_score(value: float, expected: Expectation | None) -> float | None:
    """Robust z-score: (value - normal level) / spread, using the winsorised, floored baseline.

    None while the baseline is warming up, so callers cannot mistake "no history" for "normal".
    """
    if expected is None:
        return None
    return (value - expected.mean) / expected.std
