"""Personal data is hashed at the edge with a keyed HMAC and never logged in clear.

``hmac_email`` / ``hmac_phone`` normalise first so the same person hashes the same way whatever
form they typed, which is what lets ``buzz forget`` find them again.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from pydantic import SecretStr

from pipeline.settings import ConfigError


def _key(key: SecretStr | None) -> bytes:
    if key is None or not key.get_secret_value():
        raise ConfigError("BUZZ_PII_KEY: must be set to hash signup emails and phones")
    return key.get_secret_value().encode()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def normalise_phone(phone: str) -> str:
    digits = re.sub(r"[^\d+]", "", phone.strip())
    return digits


def keyed_hmac(value: str, key: SecretStr | None) -> str:
    return hmac.new(_key(key), value.encode("utf-8"), hashlib.sha256).hexdigest()


def hmac_email(email: str, key: SecretStr | None) -> str:
    return keyed_hmac("email:" + normalise_email(email), key)


def hmac_phone(phone: str, key: SecretStr | None) -> str:
    return keyed_hmac("phone:" + normalise_phone(phone), key)
