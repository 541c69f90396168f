"""A virtual environment with MLServer, made once and reused (keyed by what it installs).

MLServer pins its own starlette and fastapi, so it cannot share the test environment.
The venv gets MLServer, its scikit-learn runtime and our package's dependencies; our
package itself comes from the checkout through ``PYTHONPATH``, so editing the code
never calls for a new venv.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MLSERVER = ["mlserver==1.7.1", "mlserver-sklearn==1.7.1"]
CACHE = Path(os.environ.get("MLOPS_KIT_MLSERVER_VENVS", ROOT / ".mlserver-venv"))


def requirements() -> list[str]:
    """What the venv installs: MLServer's pins, our dependencies, and the benchmark's load client."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [*MLSERVER, *project["dependencies"], "httpx>=0.27"]


def mlserver_venv() -> Path:
    """The venv's folder (made now if missing; a few minutes on a clean machine)."""
    wanted = requirements()
    key = hashlib.sha256("\n".join([sys.version, *wanted]).encode()).hexdigest()[:16]
    venv = CACHE / key
    done = venv / ".complete"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time; others wait and reuse it
        if done.exists():
            return venv
        shutil.rmtree(venv, ignore_errors=True)  # a build that was interrupted
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, *wanted], check=True)
        done.write_text("\n".join(wanted) + "\n")
    return venv


def environment() -> dict[str, str]:
    """The environment an MLServer process runs in: our package from the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONHOME"))}
    env["PYTHONPATH"] = str(ROOT)
    return env


if __name__ == "__main__":
    print(mlserver_venv())
