"""Pydantic records stored as JSON, optionally HMAC-signed.

The stored form (the *envelope*) is ``{"data": {...}, "v": <schema version>,
"prev": <sha256 of the previous log entry> | null, "sig": "<hex>" | null}``. With a
signing key, ``sig`` covers the storage key and every other field of the envelope, so
a valid record cannot be moved to another key (to pose as another model version), its
schema version cannot be edited, and a log entry cannot be re-attached to another
predecessor.

Records written by mlops_kit 0.1 carry ``"hmac"`` instead of ``"sig"``, covering the key
and ``data`` only; they are still read and verified.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from pydantic import BaseModel, ValidationError

from mlops_kit.core.errors import ConfigError, IntegrityError

if TYPE_CHECKING:
    from mlops_kit.core.storage._base import Storage

M = TypeVar("M", bound=BaseModel)

__all__ = ["Envelope", "TornRecordError", "decode", "digest", "encode", "open_envelope", "validate"]


class TornRecordError(IntegrityError):
    """The bytes are not a whole envelope: a write cut short (or garbage)."""


class Envelope(NamedTuple):
    """A verified envelope: the record's raw data, its schema version and its predecessor link."""

    data: Any
    version: int
    prev: str | None
    linked: bool  # written by this format: with a key, ``prev`` is covered by the signature


def digest(raw: bytes) -> str:
    """The sha256 hex digest of a stored record's bytes (what the next log entry links to)."""
    return hashlib.sha256(raw).hexdigest()


def encode(storage: Storage, key: str, record: BaseModel, *, prev: str | None = None) -> bytes:
    """Serialize ``record`` for ``key``, signed when the storage has a signing key."""
    if not isinstance(record, BaseModel):
        raise TypeError(f"Records must be pydantic models, got {type(record).__name__}.")
    body = {"data": record.model_dump(mode="json"), "v": getattr(record, "SCHEMA_VERSION", 1), "prev": prev}
    signing_key = storage.signing_key
    body["sig"] = _mac(signing_key, key, body) if signing_key else None
    return json.dumps(body, separators=(",", ":")).encode()


def open_envelope(storage: Storage, key: str, raw: bytes) -> Envelope:
    """Parse and verify the envelope of a record stored under ``key``.

    Raises
    ------
    TornRecordError
        If the bytes are not a complete envelope.
    IntegrityError
        If the signature is missing (with a key set) or does not verify, or the schema
        version is not a positive integer.
    """
    try:
        body = json.loads(raw)
        if not isinstance(body, dict) or "data" not in body:
            raise ValueError("no 'data' field")
    except (ValueError, UnicodeDecodeError) as exc:
        raise TornRecordError(
            f"Record {key!r} in {storage.url} is not a valid mlops_kit record ({exc}); "
            "it was truncated or written by something else."
        ) from None
    signing_key = storage.signing_key
    if signing_key is not None:
        _verify(storage, key, body, signing_key)
    version = body.get("v", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise IntegrityError(
            f"Record {key!r} in {storage.url} has schema version {version!r}, which no mlops_kit "
            "writes; the record was modified after it was written."
        )
    prev = body.get("prev")
    if prev is not None and not isinstance(prev, str):
        raise IntegrityError(f"Record {key!r} in {storage.url} has a malformed 'prev' link {prev!r}.")
    return Envelope(body["data"], version, prev, "sig" in body)


def decode(storage: Storage, key: str, raw: bytes, model: type[M]) -> M:
    """Parse, verify and validate the bytes of a record stored under ``key``."""
    return validate(storage, key, open_envelope(storage, key, raw), model)


def validate(storage: Storage, key: str, envelope: Envelope, model: type[M]) -> M:
    """The record in a verified envelope, as a ``model``."""
    supported = getattr(model, "SCHEMA_VERSION", 1)
    if envelope.version > supported:
        raise ConfigError(
            f"Record {key!r} in {storage.url} was written by a newer mlops_kit ({model.__name__} "
            f"schema version {envelope.version}, this one reads up to {supported}). Upgrade mlops-kit."
        )
    try:
        return model.model_validate(envelope.data)
    except ValidationError as exc:
        raise IntegrityError(
            f"Record {key!r} in {storage.url} is not a valid {model.__name__}: {exc}"
        ) from None


def _verify(storage: Storage, key: str, body: dict[str, Any], signing_key: bytes) -> None:
    if "sig" in body:
        mac, expected = body["sig"], None
        if isinstance(mac, str):
            expected = _mac(signing_key, key, {k: v for k, v in body.items() if k != "sig"})
    else:  # a 0.1 record: the signature covers the key and the data
        mac = body.get("hmac")
        expected = _mac(signing_key, key, body["data"]) if isinstance(mac, str) else None
    if mac is None:
        raise IntegrityError(
            f"Record {key!r} in {storage.url} is not signed, but a signing key is set. "
            "It was written without the key or tampered with."
        )
    if expected is None or not hmac.compare_digest(mac, expected):
        raise IntegrityError(
            f"Record {key!r} in {storage.url} has an invalid signature: it was modified "
            "after it was written, or signed with a different key."
        )


def _mac(signing_key: bytes, key: str, payload: Any) -> str:
    """HMAC-SHA256 of ``[key, payload]`` as canonical JSON (payload: the envelope, or a 0.1 record's data)."""
    canonical = json.dumps([key, payload], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(signing_key, canonical.encode(), hashlib.sha256).hexdigest()
