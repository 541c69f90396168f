"""Pins: the highest entry a reader has seen in each log, kept in a local file across processes.

Signing detects entries deleted from a log, but not a whole store put back to an older,
consistent copy: every record in it is validly signed. A reader that remembers how far
each log went refuses to go back. Pass ``pins="path/to/pins.json"`` to a storage to
keep that memory on the reader's own disk, out of reach of whoever can write the store.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading

from mlops_kit.core.errors import ConfigError

__all__ = ["Pins"]

_LOCK = threading.Lock()


class Pins:
    """The highest sequence number seen per log of one store, persisted in a JSON file.

    Parameters
    ----------
    path : str or os.PathLike
        The file (created on first use). One file can serve many stores.
    scope : str
        The store's URL: pins of different stores never mix.

    Examples
    --------
    >>> import os, tempfile
    >>> pins = Pins(os.path.join(tempfile.mkdtemp(), "pins.json"), scope="memory://a")
    >>> pins.raise_to("models/m/events", 3)
    >>> pins.get("models/m/events"), pins.get("other")
    (3, 0)
    """

    def __init__(self, path: str | os.PathLike[str], scope: str) -> None:
        self.path = os.path.expanduser(os.fspath(path))
        self.scope = scope
        self._seen: dict[str, int] | None = None

    def get(self, prefix: str) -> int:
        """The highest entry of ``prefix`` recorded (0 if none)."""
        return self._load().get(prefix, 0)

    def raise_to(self, prefix: str, seq: int) -> None:
        """Record that entry ``seq`` of ``prefix`` was seen (pins only go up)."""
        if seq <= self._load().get(prefix, 0):
            return
        with _LOCK:
            everything = self._read_file()
            mine = everything.setdefault(self.scope, {})
            mine[prefix] = max(seq, int(mine.get(prefix, 0)))
            self._write_file(everything)
            self._seen = dict(mine)

    def _load(self) -> dict[str, int]:
        if self._seen is None:
            self._seen = dict(self._read_file().get(self.scope, {}))
        return self._seen

    def _read_file(self) -> dict[str, dict[str, int]]:
        try:
            with open(self.path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ConfigError(f"Cannot read the pins file {self.path!r}: {exc}. Fix or remove it.") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"The pins file {self.path!r} is not a JSON object; fix or remove it.")
        return data

    def _write_file(self, data: dict[str, dict[str, int]]) -> None:
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".pins-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, sort_keys=True)
        os.replace(tmp, self.path)
