"""Pydantic records stored as JSON, optionally HMAC-signed.

The stored form is ``{"data": {...}, "v": <schema version>, "hmac": "<hex>" | null}``. The signature covers
the key as well as the data, so a valid record cannot be moved to another key (for
example to pose as a different model version).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from mlops_kit.core.errors import ConfigError, IntegrityError

if TYPE_CHECKING:
    from mlops_kit.core.storage._base import Storage

M = TypeVar("M", bound=BaseModel)

__all__ = ["decode", "encode"]


def encode(storage: Storage, key: str, record: BaseModel) -> bytes:
    """Serialize ``record`` for ``key``, signed when the storage has a signing key."""
    if not isinstance(record, BaseModel):
        raise TypeError(f"Records must be pydantic models, got {type(record).__name__}.")
    data = record.model_dump(mode="json")
    signing_key = storage.signing_key
    mac = _mac(signing_key, key, data) if signing_key else None
    version = getattr(record, "SCHEMA_VERSION", 1)
    return json.dumps({"data": data, "v": version, "hmac": mac}, separators=(",", ":")).encode()


def decode(storage: Storage, key: str, raw: bytes, model: type[M]) -> M:
    """Parse, verify and validate the bytes of a record stored under ``key``."""
    try:
        envelope = json.loads(raw)
        data, mac, version = envelope["data"], envelope["hmac"], int(envelope.get("v", 1))
    except (ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(
            f"Record {key!r} in {storage.url} is not a valid mlops_kit record ({exc}); "
            "it was truncated or written by something else."
        ) from None
    supported = getattr(model, "SCHEMA_VERSION", 1)
    if version > supported:
        raise ConfigError(
            f"Record {key!r} in {storage.url} was written by a newer mlops_kit ({model.__name__} "
            f"schema version {version}, this one reads up to {supported}). Upgrade mlops-kit."
        )
    signing_key = storage.signing_key
    if signing_key is not None:
        if mac is None:
            raise IntegrityError(
                f"Record {key!r} in {storage.url} is not signed, but a signing key is set. "
                "It was written without the key or tampered with."
            )
        if not isinstance(mac, str) or not hmac.compare_digest(mac, _mac(signing_key, key, data)):
            raise IntegrityError(
                f"Record {key!r} in {storage.url} has an invalid signature: it was modified "
                "after it was written, or signed with a different key."
            )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise IntegrityError(
            f"Record {key!r} in {storage.url} is not a valid {model.__name__}: {exc}"
        ) from None


def _mac(signing_key: bytes, key: str, data: Any) -> str:
    canonical = json.dumps([key, data], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(signing_key, canonical.encode(), hashlib.sha256).hexdigest()
