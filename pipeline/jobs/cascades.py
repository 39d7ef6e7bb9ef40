"""Validators: loaded into ``buzz.validators``; their posts' cascades into ``buzz.validator_reach``.

Mentions are keyed by ``reshare_of or event_id``, so a reshare of a reshare, or a reply, may sit
in another partition (or worker) than the validator's post: only the warehouse sees a whole
cascade. Each pass, and only when new mentions were written since the last one, the job reads the
*active* roots (validator posts younger than ``ACTIVE_FOR``, from ``buzz.mention_scores``) and
their whole trees in one recursive query over ``buzz.mentions`` (reshares and replies, any depth up
to ``MAX_DEPTH``), then hands them to the pure ``scoring.validator_reach`` functions. Because the
tree always comes from the warehouse, a restart resumes exactly where it was, and a replayed event
(same event id) cannot add a node twice.

A reach row is written only when a cascade's numbers changed (``buzz.validator_reach`` keeps the
latest version per post; the job remembers the last row of each active cascade, which is bounded
by ``MAX_ACTIVE_ROOTS``). Alerts: a validator's first post ever (validators already seen are read
from ``buzz.validator_reach`` when the job starts) and a cascade taking off; both have
deterministic ids.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from pipeline.campaign import Campaign
from pipeline.events import Mention
from pipeline.jobs.base import JobContext
from pipeline.jobs.stored import mention_from_row
from pipeline.processors.raw import content_token
from pipeline.scoring.alerts import Alert, cascade_alert, validator_first_alert
from pipeline.scoring.validator_reach import (
    TakeOffRule,
    ValidatorIndex,
    ValidatorReach,
    build_cascade,
    cascade_reach,
    find_validator,
    new_validators,
    taking_off,
    validator_key,
)
from pipeline.stream.reader import utc_literal
from pipeline.tables import (
    MENTIONS,
    VALIDATOR_REACH,
    VALIDATORS,
    ValidatorReachRow,
    ValidatorRow,
)

log = logging.getLogger("pipeline.jobs.cascades")

ACTIVE_FOR = timedelta(hours=24)  # cascades older than this are final
MAX_ACTIVE_ROOTS = 500
MAX_DEPTH = 50  # a guard against pathological reply chains, far beyond real cascades

ROOTS_SQL = """
SELECT event_id, groupUniqArray(subject), min(occurred_at)
FROM buzz.mention_scores FINAL
WHERE validator != '' AND reshare_of IS NULL AND occurred_at >= toDateTime64(%(since)s, 3, 'UTC')
GROUP BY event_id ORDER BY min(occurred_at) DESC LIMIT %(n)s
"""
# Every post that reshares or replies to a root, or to such a post, at any depth.
TREE_SQL = f"""
WITH RECURSIVE tree AS (
    SELECT DISTINCT event_id, 0 AS level FROM buzz.mentions
    WHERE occurred_at >= toDateTime64(%(since)s, 3, 'UTC') AND event_id IN %(roots)s
    UNION ALL
    SELECT DISTINCT m.event_id, tree.level + 1 FROM buzz.mentions AS m
    INNER JOIN tree ON m.reshare_of = tree.event_id OR m.reply_to = tree.event_id
    WHERE m.occurred_at >= toDateTime64(%(since)s, 3, 'UTC') AND tree.level < {MAX_DEPTH}
)
SELECT {MENTIONS.select} FROM buzz.mentions FINAL
WHERE occurred_at >= toDateTime64(%(since)s, 3, 'UTC') AND event_id IN (SELECT event_id FROM tree)
"""
OFFSETS_SQL = (
    "SELECT sum(next_offset) FROM buzz.stream_partitions FINAL WHERE topic = 'buzz.mentions'"
)


def validator_rows(campaign: Campaign) -> list[ValidatorRow]:
    return [
        ValidatorRow(
            validator=validator_key(v),
            name=v.name,
            group_name=v.group,
            trust_weight=v.trust_weight,
            platforms=list(v.handles),
            handles=list(v.handles.values()),
        )
        for v in campaign.validators
    ]


def first_subject(subjects: Sequence[str], campaign: Campaign) -> str:
    order = [s.id for s in campaign.subjects]
    return min(subjects, key=lambda s: order.index(s) if s in order else len(order), default="")


def takeoff_rule(campaign: Campaign) -> TakeOffRule:
    t = campaign.thresholds
    return TakeOffRule(
        min_amplifiers=t.takeoff_min_amplifiers,
        audience_multiple=t.takeoff_audience_multiple,
        min_depth=t.takeoff_min_depth,
    )


def reach_row(
    root: Mention,
    others: Sequence[Mention],
    subject: str,
    index: ValidatorIndex,
    rule: TakeOffRule | None = None,
) -> tuple[ValidatorReachRow, ValidatorReach, tuple[str, ...]]:
    """The ``buzz.validator_reach`` row of one cascade, its reach and take-off reasons (pure)."""
    v = find_validator(index, root)
    cascade = build_cascade(root, others)
    r = cascade_reach(cascade, v)
    reasons = taking_off(cascade, rule or TakeOffRule())
    row = ValidatorReachRow(
        root_id=r.root_id,
        validator=r.validator,
        group_name=v.group if v else "",
        subject=subject,
        posted_at=root.occurred_at,
        url=root.url,
        posts=r.posts,
        direct_audience=r.direct_audience,
        cascade_audience=r.cascade_audience,
        amplifiers=r.amplifiers,
        repliers=r.repliers,
        depth=r.depth,
        structural_virality=round(r.structural_virality, 9),
        trust_weight=r.trust_weight,
        trust_weighted_reach=round(r.trust_weighted_reach, 6),
        taking_off=int(bool(reasons)),
    )
    return row, r, reasons


def comparable(row: ValidatorReachRow) -> tuple[object, ...]:
    """The numbers that can change (times read back are naive UTC, so they are left out)."""
    return row._replace(posted_at=None)  # type: ignore[arg-type]


class CascadeTracker:
    name = "track_cascades"
    every = 5.0

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.loaded = False
        self.known: set[str] = set()  # validators already seen (bounded by the campaign's list)
        self.last: dict[str, tuple[object, ...]] = {}  # active root -> last reach row written
        self.offsets: int | None = None  # mentions written when the last pass ran

    async def load(self) -> None:
        rows = validator_rows(self.ctx.campaign)
        await self.ctx.writer.ainsert(VALIDATORS, rows, content_token("validators", rows))
        r = self.ctx.reader
        seen = await r.aquery(
            "SELECT DISTINCT validator FROM buzz.validator_reach WHERE validator != ''"
        )
        self.known = {x[0] for x in seen}
        since = utc_literal(datetime.now(UTC) - ACTIVE_FOR)
        self.last = {}
        for values in await r.aquery(
            f"SELECT {VALIDATOR_REACH.select} FROM buzz.validator_reach FINAL"
            " WHERE posted_at >= toDateTime64(%(since)s, 3, 'UTC')",
            {"since": since},
        ):
            row = VALIDATOR_REACH.read(values)
            self.last[row.root_id] = comparable(row)
        self.offsets = None
        self.loaded = True

    async def run_once(self, now: datetime | None = None) -> list[Alert]:
        if not self.loaded:
            await self.load()
        ctx = self.ctx
        moved = await ctx.reader.aquery(OFFSETS_SQL)
        offsets = int(moved[0][0]) if moved and moved[0][0] is not None else 0
        if offsets == self.offsets:
            return []  # nothing new was written: no cascade can have changed
        now = now or datetime.now(UTC)
        since = utc_literal(now - ACTIVE_FOR)
        found = await ctx.reader.aquery(ROOTS_SQL, {"since": since, "n": MAX_ACTIVE_ROOTS})
        self.last = {k: v for k, v in self.last.items() if k in {r[0] for r in found}}
        if not found:
            self.offsets = offsets
            return []
        subjects = {r[0]: first_subject(r[1], ctx.campaign) for r in found}
        rows = await ctx.reader.aquery(TREE_SQL, {"since": since, "roots": tuple(subjects)})
        posts = [mention_from_row(MENTIONS.read(v)) for v in rows]
        roots = [m for m in posts if m.event_id in subjects]  # a root not sunk yet waits a pass
        members = [m for m in posts if m.event_id not in subjects]
        alerts: list[Alert] = []
        names = {validator_key(v): v.name for v in ctx.campaign.validators}
        for key, m in new_validators(roots, ctx.validators, self.known):
            alerts.append(
                validator_first_alert(
                    key, subjects[m.event_id], m.event_id, m.occurred_at, m.url, names.get(key, "")
                )
            )
        changed = []
        rule = takeoff_rule(ctx.campaign)
        for root in roots:
            row, reach, reasons = reach_row(
                root, members, subjects[root.event_id], ctx.validators, rule
            )
            if reasons:
                name = names.get(reach.validator or "", "")
                alerts.append(
                    cascade_alert(reach, reasons, row.subject, root.occurred_at, root.url, name)
                )
            if self.last.get(root.event_id) != comparable(row):
                changed.append(row)
        await ctx.writer.ainsert(
            VALIDATOR_REACH, changed, content_token("validator_reach", changed)
        )
        for row in changed:
            self.last[row.root_id] = comparable(row)
            if row.validator:
                self.known.add(row.validator)
        self.offsets = offsets
        return await ctx.alerts.publish(alerts)
