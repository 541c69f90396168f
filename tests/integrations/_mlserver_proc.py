"""An MLServer process on 127.0.0.1, started on a settings folder, with its output kept."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from types import TracebackType

import httpx

from tests.integrations._mlserver_env import environment, mlserver_venv


class MLServer:
    """``mlserver start FOLDER`` in the MLServer venv; ``wait()`` until ready or exited."""

    def __init__(self, folder: Path, http_port: int, grpc_port: int) -> None:
        self.folder = folder
        self.http = f"http://127.0.0.1:{http_port}"
        self.grpc = f"127.0.0.1:{grpc_port}"
        self.output = folder.parent / f"{folder.name}-mlserver.log"
        self._out = open(self.output, "wb")  # noqa: SIM115  # closed in stop()
        self.proc = subprocess.Popen(
            [str(mlserver_venv() / "bin" / "mlserver"), "start", str(folder)],
            cwd=folder.parent,  # MLServer puts its .envs and .metrics folders here
            env=environment(),
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        """Everything MLServer printed so far."""
        return self.output.read_text(errors="replace")

    def models(self) -> list[str]:
        """The names of the models in the folder."""
        return [json.loads(p.read_text())["name"] for p in sorted(self.folder.glob("*/model-settings.json"))]

    def wait(self, timeout: float = 120.0) -> bool:
        """Wait until every model of the folder is ready (True) or the process exited (False).

        Each model is asked: the server says it is ready before its models start loading.
        """
        deadline = time.monotonic() + timeout
        waiting = self.models()
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                while (
                    waiting
                    and httpx.get(f"{self.http}/v2/models/{waiting[0]}/ready", timeout=2).status_code == 200
                ):
                    waiting.pop(0)
            except httpx.TransportError:
                pass
            if not waiting:
                return True
            time.sleep(0.2)
        raise AssertionError(f"MLServer not ready after {timeout}s:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        """SIGTERM (MLServer unloads the models: our runtime flushes), then wait."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()

    def __enter__(self) -> MLServer:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()


def eventually(check: object, what: str, timeout: float = 60.0) -> None:
    """Poll ``check()`` until it is true (a wait for a background flush, not a timing claim)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"not seen within {timeout}s: {what}")
