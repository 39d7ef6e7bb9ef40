"""``buzz.signups``: raw signups and their attribution, in one pass per message.

Only what the event carries is stored: channel, form, referral code, UTM tags, coarse location
and the keyed HMACs of email and phone (never the clear text, which never reaches Kafka). Each
signup is attributed with the pure ``scoring.signups.attribute_signup``.

The referral registry: a validator's referral codes are their handles, letters and digits only,
upper-case (``@mayortorres`` -> ``MAYORTORRES``, the convention the demo follows), plus the
validator key. A UTM value that is no code and no ``kind:id`` tag is looked up among the thread
ids and mention event ids in the warehouse (one query per batch for the values not found before;
what was found is remembered in a bounded cache), so a link tagged with a bare thread id or post
id counts. A value not found yet is asked again next time (the thread may have arrived since), and
``pipeline.jobs.attribution`` re-attributes signups whose link resolves only later.

Failure policy: see :mod:`pipeline.processors.common`.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from pipeline.campaign import Campaign
from pipeline.events import Signup
from pipeline.processors.common import decode_batch, failed, reader_of
from pipeline.processors.raw import RawMessage
from pipeline.scoring.signups import Target, attribute_signup
from pipeline.scoring.validator_reach import validator_key
from pipeline.stream.output import Output
from pipeline.stream.reader import WarehouseReader
from pipeline.tables import SIGNUP_ATTRIBUTION, SIGNUPS, AttributionRow, SignupRow

LOOKUPS_KEPT = 10_000


def signup_row(s: Signup) -> SignupRow:
    u = s.utm
    return SignupRow(
        event_id=s.event_id,
        platform=s.platform,
        occurred_at=s.occurred_at,
        ingested_at=s.ingested_at,
        channel=s.channel,
        form=s.form,
        referral_code=s.referral_code,
        utm_source=u.source,
        utm_medium=u.medium,
        utm_campaign=u.campaign,
        utm_content=u.content,
        utm_term=u.term,
        country=s.country,
        region=s.region,
        postal_prefix=s.postal_prefix,
        email_hmac=s.email_hmac,
        phone_hmac=s.phone_hmac,
        truncated=s.truncated,
    )


def referral_code_of(handle: str) -> str:
    """``@mayortorres`` / ``torres@civic.social`` -> ``MAYORTORRES`` / ``TORRES``."""
    return re.sub(r"[^A-Za-z0-9]", "", handle.strip().lstrip("@").split("@")[0]).upper()


def campaign_registry(campaign: Campaign) -> dict[str, Target]:
    """Referral codes (lower-cased) -> validator, from the campaign's validators."""
    reg: dict[str, Target] = {}
    for v in campaign.validators:
        key = validator_key(v)
        reg[key.lower()] = Target("validator", key)
        for handle in v.handles.values():
            code = referral_code_of(handle)
            for c in (code, code[:16]):  # codes are printed on cards: at most 16 characters
                if c:
                    reg.setdefault(c.lower(), Target("validator", key))
    return reg


def utm_values(signups: Iterable[Signup]) -> set[str]:
    return {
        x.strip()
        for s in signups
        for x in (s.utm.content, s.utm.campaign, s.utm.source)
        if x.strip()
    }


def attribution_row(s: Signup, registry: dict[str, Target]) -> AttributionRow:
    a = attribute_signup(s, registry)
    return AttributionRow(
        event_id=s.event_id,
        occurred_at=s.occurred_at,
        channel=s.channel,
        form=s.form,
        kind=a.kind,
        target_id=a.target_id,
        via=a.via,
    )


class TargetLookup:
    """UTM values found among thread ids and mention ids; what was found is remembered."""

    def __init__(self, reader: WarehouseReader, kept: int = LOOKUPS_KEPT) -> None:
        self.reader = reader
        self.kept = kept
        self._known: OrderedDict[str, Target] = OrderedDict()  # found, most recent last

    async def find(self, values: set[str]) -> dict[str, Target]:
        ask = {v for v in values if v not in self._known}
        if ask:
            ids = {"ids": tuple(sorted(ask))}
            threads = await self.reader.aquery_retrying(
                "SELECT DISTINCT thread_id FROM buzz.thread_posts WHERE thread_id IN %(ids)s", ids
            )
            mentions = await self.reader.aquery_retrying(
                "SELECT DISTINCT event_id FROM buzz.mentions WHERE event_id IN %(ids)s", ids
            )
            for r in threads:
                self._known[r[0]] = Target("thread", r[0])
            for r in mentions:
                self._known[r[0]] = Target("mention", r[0])
            while len(self._known) > self.kept:
                self._known.popitem(last=False)
        out = {}
        for v in values:
            if v in self._known:
                self._known.move_to_end(v)
                out[v] = self._known[v]
        return out


class SignupProcessor:
    topic = "buzz.signups"

    def __init__(self, reader: WarehouseReader, campaign: Campaign) -> None:
        self.registry = campaign_registry(campaign)
        self.lookup = TargetLookup(reader)

    def revoked(self, partitions: set[int]) -> None:
        pass  # nothing held per partition

    async def process(self, messages: Sequence[RawMessage]) -> Output:
        out = Output()
        events = decode_batch(messages, out, reader_of(Signup))
        unknown = {v for v in utm_values(s for s, _ in events) if v.lower() not in self.registry}
        registry = {**(await self.lookup.find(unknown)), **self.registry} if unknown else None
        for s, msg in events:
            out.add(SIGNUPS, signup_row(s), msg)
            try:
                out.add(SIGNUP_ATTRIBUTION, attribution_row(s, registry or self.registry), msg)
            except Exception as exc:
                out.dead_letters.append(failed(msg, "attribution", exc))
        return out
