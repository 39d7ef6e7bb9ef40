"""Episodes: the same spike, attack, surge or burst still going is one alert that updates.

A minute flagged for a subject either continues that subject's open episode (when it comes at
most ``gap`` after the episode's latest flagged minute) or starts a new one. The episode's first
minute is its key, so its alert id never changes while it updates; each update carries the
next ``revision``. Spikes and attacks on one subject are one family: an attack minute during a
spike episode escalates it (the same alert, now an attack: its kind and severity change, its id,
made with the kind it opened as, does not), and a calmer minute during an attack continues the
attack.

Replay safety: a minute at or before the episode's latest minute is ignored (``advance`` returns
None), so judging the same minutes again changes nothing. The book's state is the latest episode
per (family, subject); it is stored in the alerts themselves (``Episode.to_dict`` in the
explanation) and read back at start (``restore``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

GAP = timedelta(minutes=10)
FAMILY = {"spike": "buzz", "attack": "buzz", "signup_surge": "signup", "coordinated": "burst"}
ESCALATION = {("spike", "attack")}  # (open kind, flagged kind): the episode becomes the latter


@dataclass(frozen=True)
class Episode:
    kind: str
    subject: str
    started: datetime  # first flagged minute: the alert's key and time
    last: datetime  # latest flagged minute
    minutes: int  # flagged minutes so far
    peak: float  # highest value seen (mentions, signups or posts a minute; posts in a burst)
    revision: int  # 1 when raised, one more per update
    score: float = 0.0  # highest score seen (anomaly score; accounts in a burst)
    opened: str = ""  # the kind it opened as, when it escalated since ("" = kind)

    @property
    def opened_as(self) -> str:
        return self.opened or self.kind

    @property
    def key(self) -> str:
        return self.started.isoformat()

    @property
    def span_minutes(self) -> int:
        """Minutes from the first flagged minute to the end of the latest."""
        return int((self.last - self.started) / timedelta(minutes=1)) + 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "started": self.started.isoformat(),
            "last": self.last.isoformat(),
            "minutes": self.minutes,
            "span_minutes": self.span_minutes,
            "peak": self.peak,
            "revision": self.revision,
            "score": self.score,
            "opened": self.opened_as,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Episode:
        return cls(
            kind=str(d["kind"]),
            subject=str(d["subject"]),
            started=datetime.fromisoformat(d["started"]),
            last=datetime.fromisoformat(d["last"]),
            minutes=int(d["minutes"]),
            peak=float(d["peak"]),
            revision=int(d["revision"]),
            score=float(d.get("score", 0.0)),
            opened="" if d.get("opened", d["kind"]) == d["kind"] else str(d["opened"]),
        )


class EpisodeBook:
    """The latest episode per (family, subject)."""

    def __init__(self, gap: timedelta = GAP) -> None:
        if gap < timedelta(minutes=1):
            raise ValueError("gap must be at least one minute")
        self.gap = gap
        self.latest: dict[tuple[str, str], Episode] = {}

    def advance(
        self, kind: str, subject: str, minute: datetime, value: float, score: float = 0.0
    ) -> Episode | None:
        """The episode after ``minute`` was flagged; None if that minute was counted already."""
        family = FAMILY.get(kind, kind)
        ep = self.latest.get((family, subject))
        if ep is not None and minute <= ep.last:
            return None
        if ep is not None and minute - ep.last <= self.gap:
            escalates = (ep.kind, kind) in ESCALATION
            new = replace(
                ep,
                kind=kind if escalates else ep.kind,
                opened=ep.opened_as if escalates else ep.opened,
                last=minute,
                minutes=ep.minutes + 1,
                peak=max(ep.peak, value),
                revision=ep.revision + 1,
                score=max(ep.score, score),
            )
        else:
            new = Episode(kind, subject, minute, minute, 1, value, 1, score)
        self.latest[(family, subject)] = new
        return new

    def restore(self, episodes: Iterable[Episode]) -> None:
        """Take back stored episodes (the latest per family and subject wins)."""
        for ep in episodes:
            k = (FAMILY.get(ep.kind, ep.kind), ep.subject)
            have = self.latest.get(k)
            if have is None or (ep.last, ep.revision) > (have.last, have.revision):
                self.latest[k] = ep
