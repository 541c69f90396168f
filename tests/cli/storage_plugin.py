"""Storage classes a user might hand to ``--storage-class`` (imported by the CLI tests)."""

from __future__ import annotations

from typing import Any

import mlops_kit as mk


class TeamStorage(mk.MemoryStorage):
    """An in-house backend: a process-wide memory store per team, and options it records."""

    built_with: list[tuple[str | None, dict[str, Any]]] = []

    def __init__(self, url: str | None = None, **options: Any) -> None:
        team = (url or "default").removeprefix("team://")
        super().__init__(name=f"team-{team}")
        TeamStorage.built_with.append((url, options))


class InnerFolderStorage(mk.FsspecStorage):
    """A local folder whose state lives in its ``inner`` subfolder (visible only through this class)."""

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, root="inner", **options)


NOT_A_STORAGE = object()
