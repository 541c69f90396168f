"""An MLServer process on 127.0.0.1, started on a settings folder, with its output kept."""

from __future__ import annotations

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

    def wait(self, timeout: float = 120.0) -> bool:
        """Wait until every model is ready (True) or the process exited (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if httpx.get(f"{self.http}/v2/health/ready", timeout=2).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
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
