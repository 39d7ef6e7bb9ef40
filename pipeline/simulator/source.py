"""``demo``: the campaign simulator as a source connector (``buzz source run demo``).

It talks about the campaign in ``BUZZ_CAMPAIGN_FILE`` (the built-in demo campaign by default), at
``--rate`` events per second, paced to the wall clock with ``occurred_at`` = now. The events come
from :class:`~pipeline.simulator.engine.Simulator`, a pure seeded generator, so ``seed`` fixes
the whole run, event ids included (``demo:<run tag>-<n>``); without a seed a random one is drawn
and logged so the run can be reproduced.

Failure policy: nothing here talks to a network, so there is nothing to retry; a bad campaign file
or option is a configuration error at start-up (exit 2), anything else is a bug (fatal).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from pydantic import Field, SecretStr, model_validator

from pipeline.campaign import load_campaign
from pipeline.simulator.engine import Event, SimParams, Simulator
from pipeline.sources.base import SourceConfig, StreamingConfig, StreamingSource

# Used only when BUZZ_PII_KEY is unset, and said so in the log: the demo's made-up emails are not
# personal data, but the code path is the real one.
DEMO_PII_KEY = SecretStr("buzz-demo-only-pii-key-not-secret")


class DemoConfig(StreamingConfig):
    rate: float = Field(20.0, gt=0, le=10_000, description="Events per second (average)")
    seed: int | None = Field(None, ge=0, description="Fixes the run, event ids included")
    realtime: bool = Field(
        True,
        description="Pace to the wall clock (occurred_at = now); off: simulated time, no waits",
    )
    # A campaign hears far more mentions than it gets forum posts or signups; at the default
    # 20 events/s this is about 70 forum posts and 50 signups a minute, plenty to watch.
    mentions_share: float = Field(0.9, ge=0)
    threads_share: float = Field(0.06, ge=0)
    signups_share: float = Field(0.04, ge=0)
    spikes: bool = Field(True, description="Script an attack story now and then")
    first_spike_after: float = Field(75.0, ge=0, description="Seconds before the first attack")
    spike_every: float = Field(1800.0, ge=0, description="Seconds between attacks (0: only one)")
    spike_seconds: float = Field(90.0, gt=0, description="How long an attack burst lasts")
    spike_multiplier: float = Field(2.0, ge=0, description="Extra rate at an attack's peak")
    authors: int = Field(600, ge=20, le=100_000, description="Size of the simulated population")
    history_minutes: float = Field(
        40.0,
        ge=0,
        le=24 * 60,
        description="Live runs first backfill this much ordinary past traffic (once per data dir), "
        "so baselines have learned the normal level before the first live attack",
    )

    @model_validator(mode="after")
    def _shares(self) -> DemoConfig:
        if self.mentions_share + self.threads_share + self.signups_share <= 0:
            raise ValueError("mentions_share, threads_share and signups_share are all zero")
        return self


class DemoSource(StreamingSource[DemoConfig]):
    name: ClassVar[str] = "demo"
    description: ClassVar[str] = (
        "Campaign simulator: mentions, cascades, validators, forum threads, signups, and a "
        "scripted attack in the first two minutes"
    )
    Config: ClassVar[type[SourceConfig]] = DemoConfig

    def setup(self) -> None:
        cfg = self.config
        settings = self.ctx.settings
        campaign = load_campaign(settings.campaign_file)
        seed = cfg.seed if cfg.seed is not None else secrets.randbelow(1_000_000)
        key = settings.pii_key
        if key is None or not key.get_secret_value():
            key = DEMO_PII_KEY
            self.log.warning(
                "BUZZ_PII_KEY is not set: hashing the demo's made-up emails and phones with the "
                "built-in DEMO_PII_KEY (never do this with real signups)"
            )
        self.start = datetime.now(UTC)
        # A fresh campaign has no history, and a baseline needs some before it can call anything
        # a spike: a live run first replays quiet past minutes (once: the checkpoint remembers).
        backfill = cfg.realtime and not self.ctx.once and "history_until" not in self.checkpoint
        self.history = cfg.history_minutes * 60.0 if backfill else 0.0
        history, start = self.history, self.start
        if cfg.realtime:

            def clock(t: float) -> datetime:  # event time is now when live
                return start + timedelta(seconds=t - history) if t < history else datetime.now(UTC)
        else:

            def clock(t: float) -> datetime:
                return start + timedelta(seconds=t)

        params = SimParams(
            seed=seed,
            rate=cfg.rate,
            mentions_share=cfg.mentions_share,
            threads_share=cfg.threads_share,
            signups_share=cfg.signups_share,
            spikes=cfg.spikes,
            first_spike_after=cfg.first_spike_after + self.history,
            spike_every=cfg.spike_every,
            spike_seconds=cfg.spike_seconds,
            spike_multiplier=cfg.spike_multiplier,
            authors=cfg.authors,
        )
        self.sim = Simulator(campaign, params, key, clock)
        self.log.info(
            "demo: campaign %r, seed %d (rerun with seed=%d for the same events), %.1f events/s, "
            "first attack story after %.0fs",
            campaign.name,
            seed,
            seed,
            cfg.rate,
            cfg.first_spike_after,
        )
        if self.history:
            self.log.info(
                "demo: first backfilling %.0f minutes of ordinary past traffic so the baselines "
                "know what normal looks like",
                self.history / 60,
            )

    def stream(self) -> Iterator[Event]:
        cfg, sim, ctx = self.config, self.sim, self.ctx
        if ctx.once:
            # One burst: a second's worth of events at once, then stop.
            for _ in range(max(1, round(cfg.rate))):
                yield sim.step()[1]
            return
        wall0, history = time.monotonic(), self.history
        while not ctx.stopping():
            t, event = sim.step()
            if history and t >= history:  # the backfill is done: from here on, live
                self.checkpoint["history_until"] = self.start.isoformat()
                history, wall0 = 0.0, time.monotonic() - (t - self.history)
            if cfg.realtime and not history:
                delay = wall0 + t - self.history - time.monotonic()
                if delay > 0 and ctx.wait(delay):
                    return
            yield event
