"""The ``webhook`` connector's options (``buzz source run webhook --option value`` or
``BUZZ_SOURCE_WEBHOOK_<OPTION>``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from pipeline.sources.base import StreamingConfig
from pipeline.sources.webhook.auth import decode_secret

__all__ = ["WebhookConfig"]


class WebhookConfig(StreamingConfig):
    host: str = Field("127.0.0.1", description="Interface to listen on")
    port: int = Field(8088, ge=0, le=65535, description="Port to listen on")
    path_prefix: str = Field("/webhooks", description="Routes: PREFIX/actionnetwork|mobilize|form")
    secret: SecretStr | None = Field(None, description="Standard Webhooks secret, whsec_...")
    token: SecretStr | None = Field(
        None, validate_default=True, description="Shared token, for senders that cannot sign"
    )
    token_header: str = Field("X-Webhook-Token", description="Header carrying the token")
    tolerance: float = Field(300.0, gt=0, description="Replay window, seconds")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Larger requests get 413")
    max_ids: int = Field(100_000, ge=100, description="Webhook ids remembered against replays")
    reply_timeout: float = Field(30.0, gt=0, description="Seconds to hand a record over")
    inbox: Path | None = Field(None, description="Captured deliveries (JSONL) to process first")
    serve: bool = Field(True, description="Listen for requests (off: only --inbox)")

    @field_validator("secret")
    @classmethod
    def _secret(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None:
            decode_secret(v.get_secret_value())
        return v

    @field_validator("token")
    @classmethod
    def _auth(cls, v: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if v is None and info.data.get("secret") is None:
            raise ValueError("set --secret (whsec_..., BUZZ_SOURCE_WEBHOOK_SECRET) or --token")
        return v

    @field_validator("path_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        return "/" + v.strip("/") if v.strip("/") else ""
