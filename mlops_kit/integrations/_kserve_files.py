"""The export folder: refused when it holds something (unless forced), filled from a staging folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from mlops_kit.core.errors import ConfigError

__all__ = ["OURS", "check_out", "move_in", "walk"]

# What an export writes in its folder; --force replaces these and nothing else.
OURS = ("inferenceservice.yaml", "context", "primary")


def check_out(out: Path, force: bool) -> Path:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {str(out)!r} is a file; give a folder (it is created if missing).")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ConfigError(
            f"--out {str(out)!r} is not empty; give a new folder, or --force to replace what an "
            "earlier export wrote there."
        )
    return out.resolve()


def move_in(staging: Path, target: Path) -> None:
    """Put the staged export in ``target``, replacing only what an export writes there."""
    target.mkdir(parents=True, exist_ok=True)
    for name in OURS:
        old = target / name
        if old.is_dir():
            shutil.rmtree(old)
        elif old.exists():
            old.unlink()
        if (staging / name).exists():
            os.replace(staging / name, old)


def walk(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else []
