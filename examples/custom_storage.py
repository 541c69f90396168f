"""An in-house storage backend in a few lines: keys and bytes in one SQLite file.

A backend implements only the five hooks; blobs, signed records and append-only logs
come from the base class. ``mlops_kit.testing.StorageContract`` proves it honours the
contract (``tests/test_examples.py`` runs it on this class).
"""

from __future__ import annotations

import sqlite3
import tempfile
import threading

import mlops_kit as mk


class SqliteStorage(mk.Storage):
    """Keys and values in a SQLite table; ``INSERT OR IGNORE`` makes create atomic."""

    def __init__(self, path: str, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.path = path
        self._local = threading.local()  # one connection per thread
        self._db().execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL)")

    def _db(self) -> sqlite3.Connection:
        if not hasattr(self._local, "db"):
            self._local.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        return self._local.db  # type: ignore[no-any-return]

    @property
    def url(self) -> str:  # named in every error message
        return f"sqlite://{self.path}"

    def _read(self, key: str) -> bytes:
        row = self._db().execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise mk.NotFoundError(f"No such key {key!r} in {self.path}.")
        return bytes(row[0])

    def _write(self, key: str, data: bytes) -> None:
        self._db().execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (key, data))

    def _create(self, key: str, data: bytes) -> bool:
        return self._db().execute("INSERT OR IGNORE INTO kv VALUES (?, ?)", (key, data)).rowcount == 1

    def _list(self, prefix: str) -> list[str]:
        rows = self._db().execute(
            "SELECT key FROM kv WHERE key = ? OR substr(key, 1, ?) = ?",
            (prefix, len(prefix) + 1, prefix + "/"),
        )
        return [r[0] for r in rows] if prefix else [r[0] for r in self._db().execute("SELECT key FROM kv")]

    def _delete(self, key: str) -> None:
        self._db().execute("DELETE FROM kv WHERE key = ?", (key,))

    def __getstate__(self) -> dict[str, object]:
        return {k: v for k, v in super().__getstate__().items() if k != "_local"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._local = threading.local()


if __name__ == "__main__":
    import pandas as pd

    store = SqliteStorage(tempfile.mktemp(suffix=".db"))
    v = mk.Dataset("demo", storage=store).save(pd.DataFrame({"x": [1, 2, 3]}))
    print(f"saved {v} into {store.path}; keys: {store.list('datasets')}")
