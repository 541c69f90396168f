"""Turning what ``log_artifact``, ``log_figure`` and ``log_dict`` receive into stored blobs.

Every check runs before the first byte is written, and the blob is stored before the
event that points to it, so a mistake or a crash leaves no artifact half-logged.
"""

from __future__ import annotations

import io
import json
import mimetypes
import os
from typing import Any

from mlops_kit.core.errors import ConfigError, NotFoundError
from mlops_kit.core.names import check_name
from mlops_kit.core.storage import Storage
from mlops_kit.tracking._records import Artifact

__all__ = ["dict_bytes", "figure_bytes", "store_artifact"]

_CHUNK = 1 << 20


def store_artifact(storage: Storage, data: object, name: str | None) -> Artifact:
    """Store ``data`` (a path or bytes) as a blob; return the artifact that points to it."""
    if isinstance(data, bytes | bytearray | memoryview):
        if name is None:
            raise ConfigError("log_artifact(bytes) needs name=, for example name='report.html'.")
        checked = check_name(name, "artifact name")
        payload = bytes(data)
        return _artifact(checked, storage.put_blob(payload), len(payload))
    if not isinstance(data, str | os.PathLike):
        raise ConfigError(
            f"log_artifact expects a file path or bytes, got {type(data).__name__}; "
            "use log_figure for a figure and log_dict for a dict."
        )
    path = os.fspath(data)
    checked = check_name(name if name is not None else os.path.basename(path), "artifact name")
    if not os.path.isfile(path):
        what = "a folder" if os.path.isdir(path) else "no file"
        raise NotFoundError(
            f"Cannot log artifact {path!r}: there is {what} at that path. Pass an existing file."
        )
    with open(path, "rb") as source, storage.blob_writer() as writer:
        while chunk := source.read(_CHUNK):  # large files stream, never held twice in memory
            writer.write(chunk)
    return _artifact(checked, writer.digest, writer.tell())


def figure_bytes(figure: Any, name: str) -> bytes:
    """A matplotlib figure saved in the format the name's extension says (png, svg, pdf...)."""
    if not callable(getattr(figure, "savefig", None)):
        raise ConfigError(
            f"log_figure expects a matplotlib Figure (anything with savefig), got {type(figure).__name__}."
        )
    extension = os.path.splitext(name)[1].lstrip(".").lower()
    if not extension:
        raise ConfigError(
            f"The figure name {name!r} needs an extension that says its format, like 'roc.png'."
        )
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format=extension)
    except ValueError as exc:  # matplotlib's "Format 'xyz' is not supported"
        raise ConfigError(f"Cannot save the figure as {name!r}: {exc}") from exc
    return buffer.getvalue()


def dict_bytes(value: object, name: str) -> bytes:
    """A dict as indented JSON."""
    if not isinstance(value, dict):
        raise ConfigError(f"log_dict expects a dict, got {type(value).__name__}.")
    try:
        return json.dumps(value, indent=2, allow_nan=True).encode()
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"The dict for artifact {name!r} is not JSON-able ({exc}); convert its values first."
        ) from exc


def _artifact(name: str, digest: str, size: int) -> Artifact:
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Artifact(name=name, blob=digest, size=size, media_type=media_type)
