"""Validators: loaded into ``buzz.validators``; their posts' cascades into ``buzz.validator_reach``.

How cascades are assembled: mentions are keyed by ``reshare_of or event_id``, so a reshare of a
reshare may sit in another partition (or worker) than the validator's post. Rather than keep a
partial tree per partition, a leader-only timer rebuilds each *active* cascade (validator posts
younger than ``ACTIVE_FOR``) from the warehouse: the roots are the validator posts in
``buzz.mention_scores``; the tree is walked breadth-first over ``buzz.mentions`` (one query per
level, ``reshare_of``/``reply_to`` in the frontier), then handed to the pure
``scoring.validator_reach`` functions. Because the tree always comes from the warehouse, a restart
resumes exactly where it was, and a replayed event (same event id) cannot add a node twice.

A reach row is written only when a cascade's numbers changed (``buzz.validator_reach`` keeps the
latest version per post). Alerts: a validator's first post ever (validators already seen are read
from ``buzz.validator_reach`` at start) and a cascade taking off; both have deterministic ids.

Failure policy: a failed read skips the pass (the next tick retries); writes retry until accepted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.agents.context import AgentContext
from pipeline.agents.plumbing import ReadFailed, content_token, utc_literal, write
from pipeline.agents.stored import MENTION_SELECT, mention_from_row
from pipeline.campaign import Campaign
from pipeline.events import Mention
from pipeline.scoring.alerts import Alert, cascade_alert, validator_first_alert
from pipeline.scoring.validator_reach import (
    ValidatorIndex,
    ValidatorReach,
    build_cascade,
    cascade_reach,
    find_validator,
    new_validators,
    taking_off,
    validator_key,
)
from pipeline.sink import WarehouseSink

log = logging.getLogger("pipeline.agents.validators")

PASS_SECONDS = 5.0
ACTIVE_FOR = timedelta(hours=24)  # cascades older than this are final
MAX_ACTIVE_ROOTS = 500
MAX_DEPTH = 50  # a guard against pathological reply chains, far beyond real cascades

VALIDATOR_COLUMNS = ("validator", "name", "group_name", "trust_weight", "platforms", "handles")
REACH_COLUMNS = (
    "root_id", "validator", "group_name", "subject", "posted_at", "url", "posts",
    "direct_audience", "cascade_audience", "amplifiers", "repliers", "depth",
    "structural_virality", "trust_weight", "trust_weighted_reach", "taking_off",
)  # fmt: skip
ROOTS_SQL = """
SELECT event_id, groupUniqArray(subject), min(occurred_at)
FROM buzz.mention_scores FINAL
WHERE validator != '' AND reshare_of IS NULL AND occurred_at >= toDateTime64(%(since)s, 3, 'UTC')
GROUP BY event_id ORDER BY min(occurred_at) DESC LIMIT %(n)s
"""


def validator_rows(campaign: Campaign) -> list[list[Any]]:
    return [
        [
            validator_key(v),
            v.name,
            v.group,
            v.trust_weight,
            list(v.handles),
            list(v.handles.values()),
        ]
        for v in campaign.validators
    ]


def first_subject(subjects: Sequence[str], campaign: Campaign) -> str:
    order = [s.id for s in campaign.subjects]
    return min(subjects, key=lambda s: order.index(s) if s in order else len(order), default="")


def reach_row(
    root: Mention, others: Sequence[Mention], subject: str, index: ValidatorIndex
) -> tuple[list[Any], ValidatorReach, tuple[str, ...]]:
    """The ``buzz.validator_reach`` row of one cascade, its reach and take-off reasons (pure)."""
    v = find_validator(index, root)
    cascade = build_cascade(root, others)
    r = cascade_reach(cascade, v)
    reasons = taking_off(cascade)
    row = [
        r.root_id, r.validator, v.group if v else "", subject, root.occurred_at, root.url,
        r.posts, r.direct_audience, r.cascade_audience, r.amplifiers, r.repliers, r.depth,
        round(r.structural_virality, 9), r.trust_weight, round(r.trust_weighted_reach, 6),
        int(bool(reasons)),
    ]  # fmt: skip
    return row, r, reasons


class CascadeTracker:
    def __init__(self, ctx: AgentContext, sink: WarehouseSink) -> None:
        self.ctx = ctx
        self.sink = sink
        self.loaded = False
        self.known: set[str] = set()  # validators already seen
        self.last: dict[str, list[Any]] = {}  # root id -> last reach row written

    async def load(self) -> None:
        rows = validator_rows(self.ctx.campaign)
        await write(self.sink, "buzz.validators", rows, VALIDATOR_COLUMNS,
                    content_token("validators", rows))  # fmt: skip
        r = self.ctx.reader
        seen = await r.aquery(
            "SELECT DISTINCT validator FROM buzz.validator_reach WHERE validator != ''"
        )
        self.known = {x[0] for x in seen}
        since = utc_literal(datetime.now(UTC) - ACTIVE_FOR)
        for row in await r.aquery(
            f"SELECT {', '.join(REACH_COLUMNS)} FROM buzz.validator_reach FINAL"
            " WHERE posted_at >= toDateTime64(%(since)s, 3, 'UTC')", {"since": since},
        ):  # fmt: skip
            self.last[row[0]] = self._comparable(list(row))
        self.loaded = True

    @staticmethod
    def _comparable(row: list[Any]) -> list[Any]:
        # Times read back are naive UTC; compare the numbers that can change.
        return [x for i, x in enumerate(row) if REACH_COLUMNS[i] not in ("posted_at",)]

    async def _members(self, roots: Sequence[Mention]) -> list[Mention]:
        since = utc_literal(min(m.occurred_at for m in roots))
        frontier = {m.event_id for m in roots}
        seen = set(frontier)
        found: list[Mention] = []
        for _ in range(MAX_DEPTH):
            rows = await self.ctx.reader.aquery(
                f"SELECT {MENTION_SELECT} FROM buzz.mentions"
                " WHERE occurred_at >= toDateTime64(%(since)s, 3, 'UTC')"
                " AND (reshare_of IN %(ids)s OR reply_to IN %(ids)s)",
                {"since": since, "ids": tuple(frontier)},
            )
            level = [m for m in map(mention_from_row, rows) if m.event_id not in seen]
            if not level:
                break
            found += level
            frontier = {m.event_id for m in level}
            seen |= frontier
        return found

    async def run_once(self, now: datetime | None = None) -> list[Alert]:
        if not self.loaded:
            await self.load()
        ctx = self.ctx
        now = now or datetime.now(UTC)
        found = await ctx.reader.aquery(
            ROOTS_SQL, {"since": utc_literal(now - ACTIVE_FOR), "n": MAX_ACTIVE_ROOTS}
        )
        if not found:
            return []
        subjects = {r[0]: first_subject(r[1], ctx.campaign) for r in found}
        rows = await ctx.reader.aquery(
            f"SELECT {MENTION_SELECT} FROM buzz.mentions FINAL WHERE event_id IN %(ids)s",
            {"ids": tuple(subjects)},
        )
        roots = [mention_from_row(r) for r in rows]  # a root not sunk yet waits a pass
        if not roots:
            return []
        members = await self._members(roots)
        alerts: list[Alert] = []
        names = {validator_key(v): v.name for v in ctx.campaign.validators}
        for key, m in new_validators(roots, ctx.validators, self.known):
            first = validator_first_alert(
                key, subjects[m.event_id], m.event_id, m.occurred_at, m.url, names.get(key, "")
            )
            alerts.append(first)
        changed = []
        for root in roots:
            row, reach, reasons = reach_row(root, members, subjects[root.event_id], ctx.validators)
            if reasons:
                name = names.get(reach.validator or "", "")
                alerts.append(
                    cascade_alert(reach, reasons, row[3], root.occurred_at, root.url, name)
                )
            if self.last.get(root.event_id) != self._comparable(row):
                changed.append(row)
        await write(self.sink, "buzz.validator_reach", changed, REACH_COLUMNS,
                    content_token("validator_reach", changed))  # fmt: skip
        for row in changed:
            self.last[row[0]] = self._comparable(row)
            if row[1]:
                self.known.add(row[1])
        return await ctx.alerts.publish(alerts)


def register(ctx: AgentContext) -> None:
    tracker = CascadeTracker(ctx, ctx.new_sink())

    @ctx.app.timer(interval=PASS_SECONDS, on_leader=True, name="track_cascades")
    async def track_cascades() -> None:
        try:
            await tracker.run_once()
        except ReadFailed as exc:
            log.warning("cascade pass skipped: %s", exc)
