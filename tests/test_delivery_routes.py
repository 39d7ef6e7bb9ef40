"""Routes in the campaign file: validation, filters, quiet hours, secrets named by setting.

Pins: a route is checked when the campaign loads (unknown kinds, time zones, duplicate names,
secrets written in the file instead of named); quiet hours work across midnight in the route's
time zone and let through what the policy says; a named secret comes from the environment or
``.env``, and one that is not set stops ``buzz worker`` with one message naming the setting,
before it connects to anything.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.campaign import load_campaign
from pipeline.delivery.routes import QuietHours, resolve_secrets
from pipeline.jobs.delivery import slot_start
from pipeline.settings import ConfigError, load_settings
from tests.conftest import ROOT, buzz_cmd, clean_env

DEMO = yaml.safe_load((ROOT / "pipeline" / "campaigns" / "demo.yaml").read_text())


def campaign_file(tmp_path: Path, *routes: dict[str, Any]) -> Path:
    path = tmp_path / "campaign.yaml"
    path.write_text(yaml.safe_dump({**DEMO, "routes": list(routes)}))
    return path


SLACK = {"name": "press", "type": "slack", "webhook_url": "BUZZ_SLACK_PRESS"}


def test_routes_load_with_their_defaults(tmp_path: Path) -> None:
    hook = {"name": "sms", "type": "webhook", "url": "https://relay.example/in",
            "secret": "BUZZ_RELAY_SECRET", "kinds": ["attack"], "digest_minutes": 60}  # fmt: skip
    mail = {"name": "desk", "type": "email", "to": ["desk@kim.example"],
            "from": "buzz@kim.example", "host": "smtp.kim.example"}  # fmt: skip
    camp = load_campaign(campaign_file(tmp_path, SLACK, hook, mail))
    press, sms, desk = camp.routes
    assert (press.kinds, press.min_severity, press.subjects) == (None, "info", None)
    assert press.digest_minutes == 30 and press.quiet_hours is None
    assert sms.wants("attack", "critical", "kim") and not sms.wants("spike", "critical", "kim")
    assert sms.digest_minutes == 60
    assert desk.port == 587 and desk.security == "starttls" and desk.secret_names() == {}


@pytest.mark.parametrize(
    ("route", "says"),
    [
        ({**SLACK, "kinds": ["attak"]}, "slack.kinds: Value error, unknown alert kind 'attak'"),
        ({**SLACK, "webhook_url": "https://hooks.slack.com/services/T/B/x"}, "webhook_url"),
        ({**SLACK, "quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Mars/Base"}},
         "unknown time zone 'Mars/Base'"),
        ({**SLACK, "type": "pager"}, "routes.0: Input tag 'pager'"),
        ({**SLACK, "min_severity": "urgent"}, "min_severity"),
        ({"name": "x", "type": "webhook", "url": "ftp://x", "secret": "BUZZ_X"}, "http(s) URL"),
    ],
)  # fmt: skip
def test_a_bad_route_stops_loading_naming_the_field(
    tmp_path: Path, route: dict[str, Any], says: str
) -> None:
    with pytest.raises(ConfigError) as exc:
        load_campaign(campaign_file(tmp_path, route))
    assert exc.value.message.startswith("BUZZ_CAMPAIGN_FILE: ")
    assert says in exc.value.message


def test_two_routes_with_one_name_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="two routes are named 'press'"):
        load_campaign(campaign_file(tmp_path, SLACK, {**SLACK, "webhook_url": "BUZZ_OTHER"}))


def at(hhmm: str, zone: str = "UTC") -> datetime:
    from zoneinfo import ZoneInfo

    h, m = map(int, hhmm.split(":"))
    return datetime(2026, 11, 30, h, m, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def test_quiet_hours_span_midnight_in_the_routes_time_zone() -> None:
    q = QuietHours.model_validate({"start": "22:00", "end": "07:00", "timezone": "America/Chicago"})
    assert q.active(at("23:30", "America/Chicago"))
    assert q.active(at("06:59", "America/Chicago"))
    assert not q.active(at("07:00", "America/Chicago"))
    assert not q.active(at("21:59", "America/Chicago"))
    assert q.active(at("04:30"))  # 22:30 in Chicago
    day = QuietHours.model_validate({"start": "12:00", "end": "13:00", "timezone": "UTC"})
    assert day.active(at("12:30")) and not day.active(at("13:00"))


@pytest.mark.parametrize(
    ("let_through", "passes"),
    [("critical", {"critical"}), ("warning", {"warning", "critical"}), ("none", set())],
)
def test_what_quiet_hours_let_through(let_through: str, passes: set[str]) -> None:
    q = QuietHours.model_validate(
        {"start": "22:00", "end": "07:00", "timezone": "UTC", "let_through": let_through}
    )
    assert {s for s in ("info", "warning", "critical") if q.lets_through(s)} == passes


def test_digest_slots_start_at_midnight_utc() -> None:
    assert slot_start(at("10:44"), 30) == at("10:30")
    assert slot_start(at("10:44"), 60) == at("10:00")
    assert slot_start(at("10:44"), 1440) == at("00:00")


def test_secrets_come_from_the_environment_or_env_file(
    isolated_settings: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    camp = load_campaign(campaign_file(tmp_path, SLACK))
    (tmp_path / ".env").write_text("BUZZ_SLACK_PRESS=https://hooks.example/from-dotenv\n")
    found = resolve_secrets(camp.routes, load_settings())
    assert found["press"]["webhook_url"].get_secret_value() == "https://hooks.example/from-dotenv"
    assert "from-dotenv" not in repr(found)
    monkeypatch.setenv("BUZZ_SLACK_PRESS", "https://hooks.example/from-env")
    found = resolve_secrets(camp.routes, load_settings())
    assert found["press"]["webhook_url"].get_secret_value() == "https://hooks.example/from-env"


def test_a_missing_secret_names_the_setting(isolated_settings: None, tmp_path: Path) -> None:
    camp = load_campaign(campaign_file(tmp_path, SLACK))
    with pytest.raises(ConfigError) as exc:
        resolve_secrets(camp.routes, load_settings())
    assert exc.value.message == (
        "BUZZ_SLACK_PRESS: not set (route 'press' in the campaign file takes its webhook url "
        "from it)"
    )


def test_buzz_worker_stops_at_once_on_a_missing_secret(tmp_path: Path) -> None:
    path = campaign_file(tmp_path, SLACK)
    env = clean_env(BUZZ_CAMPAIGN_FILE=str(path), BUZZ_CLICKHOUSE_URL="http://127.0.0.1:9")
    done = subprocess.run(
        buzz_cmd("worker"), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    lines = [x for x in done.stderr.splitlines() if x.strip()]
    assert lines == [
        "configuration error: BUZZ_SLACK_PRESS: not set (route 'press' in the campaign file "
        "takes its webhook url from it)"
    ], done.stderr


def test_a_signing_secret_that_is_not_whsec_stops_start_up(
    isolated_settings: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from pipeline.jobs.base import JobContext
    from pipeline.jobs.delivery import delivery_jobs

    hook = {"name": "relay", "type": "webhook", "url": "https://relay.example/in",
            "secret": "BUZZ_RELAY_SECRET"}  # fmt: skip
    camp = load_campaign(campaign_file(tmp_path, hook))
    monkeypatch.setenv("BUZZ_RELAY_SECRET", "not base64!")
    secrets = resolve_secrets(camp.routes, load_settings())
    ctx = JobContext(camp, None, None, None, None, None, dict)  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as exc:
        delivery_jobs(ctx, secrets, "http://dash")
    assert exc.value.message == (
        "BUZZ_RELAY_SECRET: expected whsec_ followed by base64 (route 'relay')"
    )
    assert "not base64!" not in exc.value.message
