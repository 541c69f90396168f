"""Serving: mlops_kit endpoints vs calling the model directly, and vs ``mlflow models serve``.

    python benchmarks/bench_serving.py [--requests 3000] [--concurrency 16] [--skip-mlflow]

Side by side, on the same model (a scikit-learn pipeline: scaling + one-hot encoding
+ logistic regression, trained on the same 5,000 synthetic rows with the same seed
in each environment):

1. In-process ``predict`` on 1 row and on 1,000 rows: ``model.predict(df)`` vs
   ``endpoint.predict(df)`` (signature checks, routing, statistics and the
   prediction log included), interleaved in one fresh process.
2. HTTP: ``mlops-kit serve`` vs ``mlflow models serve --env-manager local`` (installed
   by this script into ``.bench/venv-mlflow``, never into the project), each in a fresh
   process with one worker: seconds from start to the first successful health check,
   then throughput and p50/p99 latency of 1-row ``dataframe_split`` requests at the
   given concurrency, sent by ``tests/deploy/_load_client.py`` (HTTP/1.1 keep-alive
   over asyncio, in its own process).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / ".bench"
CLIENT = ROOT / "tests" / "deploy" / "_load_client.py"
MLFLOW_VENV = BENCH / "venv-mlflow"

# Runs in whichever environment trains the model (ours, or MLflow's venv).
TRAIN = """
import numpy as np, pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

def data(n=5000, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "age": rng.integers(18, 80, n),
        "spend": rng.gamma(2.0, 30.0, n),
        "plan": rng.choice(["basic", "plus", "pro"], n).astype(object),
    })
    y = ((X["spend"] < 40) & (X["plan"] == "basic")) | (rng.random(n) < 0.1)
    return X, y.to_numpy()

def train(kind):
    X, y = data()
    if kind == "linear":  # cheap: the server's own overhead dominates
        X = X[["age", "spend"]]
        return make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y), X
    pre = make_column_transformer(
        (StandardScaler(), ["age", "spend"]),
        (OneHotEncoder(handle_unknown="ignore"), ["plan"]),
    )
    return make_pipeline(pre, LogisticRegression(max_iter=500)).fit(X, y), X
"""


def _ns() -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(TRAIN, namespace)
    return namespace


# -- workers (run in fresh processes) -----------------------------------------------


def worker_inproc(repeat: int, kind: str) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    import mlops_kit as mk

    model, X = _ns()["train"](kind)  # type: ignore[operator]
    reg = mk.Registry(mk.MemoryStorage())
    reg.register("churn", model, input_example=X.head(5))
    ep = mk.LocalDeployer(reg).deploy("churn")
    results = {}
    for rows in (1, 1000):
        df = X.head(rows).reset_index(drop=True)
        bare, ours = [], []
        for _ in range(50):  # warm-up
            model.predict(df)
            ep.predict(df)
        for _ in range(repeat):  # interleaved, so a noisy neighbour hits both alike
            t = time.perf_counter()
            model.predict(df)
            bare.append(time.perf_counter() - t)
            t = time.perf_counter()
            ep.predict(df)
            ours.append(time.perf_counter() - t)
        results[f"bare_{rows}"] = statistics.median(bare) * 1e6
        results[f"ours_{rows}"] = statistics.median(ours) * 1e6
    ep.close()
    return results


def prepare_ours(folder: Path, kind: str) -> None:
    sys.path.insert(0, str(ROOT))
    import mlops_kit as mk

    model, X = _ns()["train"](kind)  # type: ignore[operator]
    reg = mk.Registry(mk.storage(str(folder)))
    reg.register("churn", model, input_example=X.head(5))
    reg.set_alias("churn", "production", 1)
    mk.LocalDeployer(reg).deploy("churn@production")


def prepare_mlflow(folder: Path, kind: str) -> None:
    import mlflow.sklearn  # only in .bench/venv-mlflow

    model, X = _ns()["train"](kind)  # type: ignore[operator]
    mlflow.sklearn.save_model(model, str(folder), input_example=X.head(5))


# -- the driver ----------------------------------------------------------------------


def _run_json(cmd: list[str], **kw: object) -> dict[str, float]:
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, **kw)  # type: ignore[call-overload]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], started: float, timeout: float = 180) -> float:
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{url} not ready after {timeout} s")
        time.sleep(0.02)


def _body(kind: str) -> str:
    columns = ["age", "spend"] if kind == "linear" else ["age", "spend", "plan"]
    row = [30, 50.0, "pro"][: len(columns)]
    return json.dumps({"dataframe_split": {"columns": columns, "data": [row]}})


def _load(port: int, requests: int, concurrency: int, kind: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "records.json"
        url, body = f"http://127.0.0.1:{port}", _body(kind)
        for n in (200, requests):  # warm-up, then the measured run
            cmd = [sys.executable, str(CLIENT), url, str(n), str(concurrency), str(out), "/invocations", body]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        records = json.loads(out.read_text())
    ok = [r for r in records if r[2] == 200]
    if not ok:
        raise RuntimeError(f"every request failed: {records[:3]}")
    latencies = sorted((r[1] - r[0]) * 1000 for r in ok)
    wall = max(r[1] for r in records) - min(r[0] for r in records)
    return {
        "rps": len(ok) / wall,
        "p50_ms": latencies[len(latencies) // 2],
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1],
        "failed": len(records) - len(ok),
    }


def _serve(
    cmd: list[str], health: str, port: int, args: argparse.Namespace, kind: str, env: dict[str, str]
) -> dict[str, float]:
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        ready = _wait_ready(f"http://127.0.0.1:{port}{health}", proc, started)
        result = _load(port, args.requests, args.concurrency, kind)
        result["ready_s"] = ready
        return result
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # its own session: mlflow starts a child server
            proc.wait(timeout=60)


def ensure_mlflow() -> Path | None:
    python = MLFLOW_VENV / "bin" / "python"
    if not python.exists():
        print("installing MLflow into .bench/venv-mlflow (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_VENV)], check=True)
        done = subprocess.run(
            [str(MLFLOW_VENV / "bin" / "pip"), "install", "-q", "mlflow>=3", "scikit-learn", "pandas"]
        )
        if done.returncode != 0:
            print("MLflow could not be installed: skipped")
            return None
    if subprocess.run([str(python), "-c", "import mlflow"], capture_output=True).returncode != 0:
        print("MLflow is not importable in .bench/venv-mlflow: skipped")
        return None
    return python


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--model", choices=["pipeline", "linear", "both"], default="both")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "inproc":
        print(json.dumps(worker_inproc(args.repeat, args.model)))
        return
    if args.worker == "prepare-ours":
        prepare_ours(Path(args.folder), args.model)
        print("{}")
        return
    if args.worker == "prepare-mlflow":
        prepare_mlflow(Path(args.folder), args.model)
        print("{}")
        return

    me = [sys.executable, str(Path(__file__).resolve())]
    kinds = ["pipeline", "linear"] if args.model == "both" else [args.model]
    print(f"in-process predict (median of {args.repeat}, interleaved):")
    for kind in kinds:
        r = _run_json([*me, "--worker", "inproc", "--repeat", str(args.repeat), "--model", kind])
        for rows in (1, 1000):
            bare, ours = r[f"bare_{rows}"], r[f"ours_{rows}"]
            print(
                f"  {kind:<8} {rows:>5} rows: model.predict {bare:8.1f} us | endpoint.predict {ours:8.1f} us | "
                f"ratio {ours / bare:.2f}x | overhead {ours - bare:6.1f} us"
            )

    BENCH.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    python = None if args.skip_mlflow else ensure_mlflow()
    for kind in kinds:
        rows = []
        with tempfile.TemporaryDirectory(dir=BENCH) as tmp:
            folder = Path(tmp) / "store"
            _run_json([*me, "--worker", "prepare-ours", "--folder", str(folder), "--model", kind], env=env)
            port = _free_port()
            cli = [sys.executable, "-m", "mlops_kit.cli", "serve", "churn@production"]
            cli += ["--storage", str(folder), "--port", str(port)]
            rows.append(("mlops-kit serve", _serve(cli, "/v2/health/ready", port, args, kind, env)))
            if python is not None:
                model_dir = Path(tmp) / "mlflow-model"
                prepare = [str(python), str(Path(__file__).resolve()), "--worker", "prepare-mlflow"]
                _run_json([*prepare, "--folder", str(model_dir), "--model", kind])
                port = _free_port()
                cmd = [str(python.parent / "mlflow"), "models", "serve", "-m", str(model_dir)]
                cmd += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]
                menv = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
                menv["PATH"] = f"{python.parent}{os.pathsep}{menv.get('PATH', '')}"  # it runs `uvicorn`
                rows.append(("mlflow models serve", _serve(cmd, "/ping", port, args, kind, menv)))
        print(
            f"\nHTTP, model {kind!r}, 1-row dataframe_split requests, concurrency {args.concurrency}, "
            f"{args.requests} requests, one worker:"
        )
        print(f"  {'server':<22} {'ready (s)':>10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'failed':>7}")
        for name, m in rows:
            print(
                f"  {name:<22} {m['ready_s']:>10.2f} {m['rps']:>8.0f} {m['p50_ms']:>8.2f} "
                f"{m['p99_ms']:>8.2f} {m['failed']:>7.0f}"
            )
        if len(rows) == 2:
            ours, theirs = rows[0][1], rows[1][1]
            print(
                f"  ratios (mlops-kit / mlflow): throughput {ours['rps'] / theirs['rps']:.2f}x, "
                f"p99 {ours['p99_ms'] / theirs['p99_ms']:.2f}x, ready {ours['ready_s'] / theirs['ready_s']:.2f}x"
            )


if __name__ == "__main__":
    main()
