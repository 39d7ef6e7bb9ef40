"""The campaign file: what is campaign-specific (subjects, rivals, validators, thresholds, routes).

YAML, validated once at start-up. Without ``BUZZ_CAMPAIGN_FILE`` the built-in demo campaign
(``pipeline/campaigns/demo.yaml``) is used, which is what the simulator talks about.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.delivery.routes import Route, check_route_names
from pipeline.settings import ConfigError


class Subject(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    kind: str = Field("issue", pattern=r"^(candidate|rival|issue)$")
    terms: list[str] = Field(min_length=1)
    # Other ways people name the subject: nicknames, surnames, other official handles. They match
    # exactly like terms; listed apart so the terms stay the campaign's own short list.
    aliases: list[str] = []


class Validator(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    group: str
    trust_weight: float = Field(1.0, ge=0, le=10)
    handles: dict[str, str] = Field(min_length=1, description="platform -> handle")


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    spike_z: float = Field(3.0, gt=0)
    attack_negative_share: float = Field(0.3, gt=0, le=1)
    unanswered_question_minutes: int = Field(60, gt=0)
    # A golden thread is one worth a staff reply: rare on purpose, or the alert feed drowns.
    # How each default was set: docs/scoring.md, "How each threshold was set".
    golden_min_quality: float = Field(0.575, ge=0, le=1)
    golden_min_transactions: int = Field(5, ge=1)
    golden_min_back_and_forth: int = Field(3, ge=0)
    # A validator's post takes off with this many resharers within an hour, and leaves the
    # validator's circle (audience multiple) or travels person to person (depth).
    takeoff_min_amplifiers: int = Field(15, ge=1)
    takeoff_audience_multiple: float = Field(3.0, gt=0)
    takeoff_min_depth: int = Field(4, ge=1)
    # A spike, surge or burst flagged again within this many minutes is the same episode.
    episode_gap_minutes: int = Field(10, ge=1, le=24 * 60)
    # A coordinated burst: near-identical posts from at least this many accounts in 5 minutes.
    coordinated_min_accounts: int = Field(10, ge=2)


class Campaign(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    subjects: list[Subject] = Field(min_length=1)
    validators: list[Validator] = []
    thresholds: Thresholds = Thresholds()
    # Where alerts are delivered (docs/alerts.md); none: they are only stored and shown.
    routes: list[Route] = []

    @field_validator("routes")
    @classmethod
    def _unique_routes(cls, v: list[Route]) -> list[Route]:
        check_route_names(v)
        return v

    @property
    def candidate(self) -> Subject:
        for s in self.subjects:
            if s.kind == "candidate":
                return s
        return self.subjects[0]


def load_campaign(path: Path | None = None) -> Campaign:
    """Load and validate a campaign file; errors name the file and the field."""
    if path is None:
        text = resources.files("pipeline.campaigns").joinpath("demo.yaml").read_text("utf-8")
        where = "built-in demo campaign"
    else:
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise ConfigError(f"BUZZ_CAMPAIGN_FILE: cannot read {path}: {exc.strerror}") from None
        where = str(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"BUZZ_CAMPAIGN_FILE: {where} is not valid YAML: {exc}") from None
    try:
        return Campaign.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"BUZZ_CAMPAIGN_FILE: {where}: {loc}: {err['msg']}") from None
