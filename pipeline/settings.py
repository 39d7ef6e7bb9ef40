"""One typed settings object for every process.

Values come from ``BUZZ_*`` environment variables and an optional ``.env`` file, are validated
once at start-up, and secrets are ``SecretStr`` so they never show up in logs or reprs.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROLLOVER_MIN_MB = 64


class ConfigError(SystemExit):
    """Bad configuration: stops start-up with one message naming the setting."""

    def __init__(self, message: str) -> None:
        super().__init__(f"configuration error: {message}")
        self.message = message


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BUZZ_", env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    # Where the broker and warehouse are. Unset means "start the embedded ones" (buzz up).
    kafka_url: str | None = Field(None, description="Kafka bootstrap, host:port[,host:port]")
    clickhouse_url: str | None = Field(
        None, description="ClickHouse HTTP URL, http://user:pw@host:8123"
    )

    # Embedded stand-ins.
    broker_host: str = "127.0.0.1"
    broker_port: int = Field(9092, ge=1, le=65535)
    warehouse_host: str = "127.0.0.1"
    warehouse_port: int = Field(8123, ge=1, le=65535)
    data_dir: Path = Field(Path(".buzz"), description="Embedded warehouse data, checkpoints, logs")
    # Per-query ceilings for read-only users of the embedded warehouse (the analyst); they may
    # lower them, not raise them. deploy/clickhouse/users.d/buzz-users.xml holds the same values.
    analyst_max_result_rows: int = Field(
        1_000_000, ge=1, description="Rows one analyst query may return"
    )
    analyst_max_execution_seconds: int = Field(
        300, ge=1, le=86_400, description="Seconds one analyst query may run"
    )
    analyst_max_memory_bytes: int = Field(
        4_000_000_000, ge=1_000_000, description="Memory one analyst query may use"
    )
    # `buzz up` empties the embedded broker once the worker has written everything it holds,
    # when it reaches this resident size (pipeline/broker_rollover.py); 0 never does.
    broker_rollover_mb: int = Field(
        512, ge=0, le=1_000_000, description="Roll the embedded broker over at this many MB"
    )

    dashboard_host: str = Field(
        "127.0.0.1", description="Dashboard bind address (0.0.0.0 in containers)"
    )
    dashboard_port: int = Field(8501, ge=1, le=65535)
    dashboard_refresh_seconds: float = Field(5.0, gt=0)
    dashboard_auth: bool = Field(False, description="Require OIDC sign-in (docs/dashboard.md)")
    dashboard_url: str | None = Field(
        None, description="The dashboard's address as staff open it, for links in alert messages"
    )

    campaign_file: Path | None = Field(None, description="YAML campaign file (demo if unset)")
    pii_key: SecretStr | None = Field(None, description="Key for the HMAC of emails and phones")
    # Retention (pipeline/warehouse/retention.py), applied by buzz migrate; 0 keeps for ever.
    raw_text_ttl_days: int = Field(365, ge=0, le=36500, description="Days raw post text is kept")
    pii_ttl_days: int = Field(90, ge=0, le=36500, description="Days signup HMACs are kept")

    topic_partitions: int = Field(4, ge=1, le=256)
    sink_batch_size: int = Field(5000, ge=1, le=100_000)
    sink_batch_seconds: float = Field(0.25, gt=0, le=60)
    worker_web_host: str = Field(
        "127.0.0.1", description="Worker health page bind address (0.0.0.0 in containers)"
    )
    worker_web_port: int = Field(6066, ge=1, le=65535)
    log_level: str = "INFO"

    @field_validator("kafka_url")
    @classmethod
    def _check_kafka(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        for part in v.removeprefix("kafka://").split(","):
            host, _, port = part.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"expected host:port[,host:port], got {v!r}")
        return v.removeprefix("kafka://")

    @field_validator("clickhouse_url")
    @classmethod
    def _check_clickhouse(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected http(s)://[user:password@]host[:port], got {v!r}")
        return v

    @field_validator("broker_rollover_mb")
    @classmethod
    def _check_rollover(cls, v: int) -> int:
        if 0 < v < ROLLOVER_MIN_MB:
            raise ValueError(
                f"0 (never) or at least {ROLLOVER_MIN_MB} MB: a fresh broker already uses "
                "about 20 MB, so a lower limit would roll it over again and again"
            )
        return v

    @field_validator("dashboard_url")
    @classmethod
    def _check_dashboard_url(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected http(s)://host[:port][/path], got {v!r}")
        return v.rstrip("/")

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, v: str) -> str:
        v = v.upper()
        if v not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
        return v

    # Derived values -----------------------------------------------------------------------
    @property
    def bootstrap_servers(self) -> str:
        return self.kafka_url or f"{self.broker_host}:{self.broker_port}"

    @property
    def warehouse_url(self) -> str:
        return self.clickhouse_url or f"http://{self.warehouse_host}:{self.warehouse_port}"

    @property
    def dashboard_link(self) -> str:
        """Where alert messages link to: ``BUZZ_DASHBOARD_URL``, else the local dashboard."""
        if self.dashboard_url:
            return self.dashboard_url
        host = "127.0.0.1" if self.dashboard_host in ("0.0.0.0", "::") else self.dashboard_host
        return f"http://{host}:{self.dashboard_port}"

    def secret(self, name: str) -> SecretStr | None:
        """A secret the campaign file names (a route's webhook URL, SMTP password): the
        variable ``name`` from the environment, else from the ``.env`` file, as for every
        setting; None when unset or empty."""
        value = os.environ.get(name)
        env_file = self.model_config.get("env_file")
        if value is None and isinstance(env_file, str) and Path(env_file).is_file():
            value = dotenv_values(env_file).get(name)
        return SecretStr(value) if value else None

    @property
    def embedded_broker(self) -> bool:
        return self.kafka_url is None

    @property
    def embedded_warehouse(self) -> bool:
        return self.clickhouse_url is None


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation errors into one message naming the setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = "BUZZ_" + str(err["loc"][0]).upper() if err["loc"] else "settings"
        raise ConfigError(f"{name}: {err['msg']}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
