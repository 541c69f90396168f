"""Serving: mlops_kit endpoints vs calling the model directly, vs ``mlflow models serve``
and vs MLServer with its scikit-learn runtime.

    python benchmarks/bench_serving.py [--requests 5000] [--concurrency 16,1] [--starts 3]
                                       [--model pipeline|linear|both] [--rows 1,1000]
                                       [--big-concurrency 4] [--skip-mlflow] [--skip-mlserver]
                                       [--grpc [--rounds 3]]

Side by side, on the same models (scikit-learn, trained on the same 5,000 synthetic
rows with the same seed in each environment): **pipeline** (scaling + one-hot
encoding + logistic regression) and **linear** (scaling + logistic regression).

1. In-process ``predict`` on 1 row and on 1,000 rows: ``model.predict(df)`` vs
   ``endpoint.predict(df)`` (signature checks, routing, statistics and the
   prediction log included), interleaved in one fresh process.
2. Start-up: seconds from starting the process to the first successful health check
   (median of ``--starts`` starts, interleaved) for ``mlops-kit serve``, ``mlflow
   models serve --env-manager local`` (installed by this script into
   ``.bench/venv-mlflow``, never into the project) and a *floor*: a stdlib HTTP
   server that only unpickles the same model and predicts one row before it
   answers, which is the least any Python server of this model must do.
3. HTTP: throughput and p50/p99 latency of 1-row requests at each ``--concurrency``
   and of 1,000-row requests at ``--big-concurrency`` (what batch clients send), one
   server process with one worker each, sent by ``tests/deploy/_load_client.py``
   (HTTP/1.1 keep-alive over asyncio) in its own process; with the CPU seconds per
   request the server and the client used (on a 2-core machine they compete for the
   same cores). Each server gets the body of its own protocol: MLflow's
   ``dataframe_split`` on ``/invocations`` (mlops-kit and MLflow), and the Open
   Inference Protocol with MLServer's pandas codec (one tensor per column,
   ``content_type: pd``) on ``/v2/models/churn/infer`` (mlops-kit and MLServer).
   MLServer runs with its defaults (``parallel_workers=1``: one inference process
   beside the HTTP one), installed by this script into ``.bench/venv-mlserver``.

With ``--grpc``, only this: one ``mlops-kit serve --grpc-port`` process, and on it, in
turns (``--rounds``), 1-row requests over REST (MLflow's ``dataframe_split`` and the
Open Inference Protocol's JSON ``infer``) and over gRPC (``ModelInfer`` with raw input
contents, from ``benchmarks/_grpc_load_client.py`` on one channel), at each
``--concurrency``; the best round of each is reported.

Our package is byte-compiled first (``compileall``), as pip does for an installed
package such as MLflow: an editable install under ``PYTHONDONTWRITEBYTECODE`` would
otherwise compile every module at each start.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / ".bench"
CLIENT = ROOT / "tests" / "deploy" / "_load_client.py"
GRPC_CLIENT = ROOT / "benchmarks" / "_grpc_load_client.py"
MLFLOW_VENV = BENCH / "venv-mlflow"
MLSERVER_VENV = BENCH / "venv-mlserver"

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


def prepare_mlserver(folder: Path, kind: str) -> None:
    import joblib  # only in .bench/venv-mlserver (scikit-learn's dependency)

    model, _ = _ns()["train"](kind)  # type: ignore[operator]
    folder.mkdir(parents=True)
    joblib.dump(model, folder / "model.joblib")
    settings = {
        "name": "churn",
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib"},
    }
    (folder / "model-settings.json").write_text(json.dumps(settings))


FLOOR = """
import pickle, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
with open(sys.argv[1], "rb") as f:
    model = pickle.load(f)
import pandas as pd
model.predict(pd.read_pickle(sys.argv[2]))
class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
HTTPServer(("127.0.0.1", int(sys.argv[3])), Health).serve_forever()
"""


def prepare_floor(folder: Path, kind: str) -> None:
    import pickle

    model, X = _ns()["train"](kind)  # type: ignore[operator]
    folder.mkdir(parents=True)
    (folder / "model.pkl").write_bytes(pickle.dumps(model))
    X.head(1).to_pickle(folder / "row.pkl")
    (folder / "floor.py").write_text(FLOOR)


# -- the driver ----------------------------------------------------------------------


def _run_json(cmd: list[str], **kw: object) -> dict[str, float]:
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, **kw)  # type: ignore[call-overload]
    return json.loads(out.stdout.strip().splitlines()[-1])


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_of_group(pgid: int) -> float:
    """CPU seconds used so far by the processes of a process group (a server and its children)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # pgrp; then utime and stime in clock ticks
            total += int(fields[11]) + int(fields[12])
    return total / _TICK


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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


def _rows(kind: str, rows: int) -> tuple[list[str], list[list[object]]]:
    columns = ["age", "spend"] if kind == "linear" else ["age", "spend", "plan"]
    plans = ["basic", "plus", "pro"]
    data = [[18 + i % 60, round(5.0 + (i * 7.3) % 120, 2), plans[i % 3]][: len(columns)] for i in range(rows)]
    return columns, data


def _body(kind: str, rows: int = 1, protocol: str = "mlflow") -> str:
    columns, data = _rows(kind, rows)
    if protocol == "mlflow":
        return json.dumps({"dataframe_split": {"columns": columns, "data": data}})
    types = {"age": "INT64", "spend": "FP64", "plan": "BYTES"}
    inputs = [
        {"name": c, "datatype": types[c], "shape": [rows], "data": [row[i] for row in data]}
        for i, c in enumerate(columns)
    ]
    return json.dumps({"parameters": {"content_type": "pd"}, "inputs": inputs})


_PATHS = {"mlflow": "/invocations", "oip": "/v2/models/churn/infer"}


def _load(
    port: int,
    requests: int,
    concurrency: int,
    kind: str,
    server: int,
    rows: int = 1,
    protocol: str = "mlflow",
) -> dict[str, float]:
    url, body, path = f"http://127.0.0.1:{port}", _body(kind, rows, protocol), _PATHS[protocol]
    command = [sys.executable, str(CLIENT), url, "{n}", str(concurrency), "{out}", path, body]
    return _measure(command, requests, server)


def _start(
    cmd: list[str], health: str, port: int, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], float]:
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        return proc, _wait_ready(f"http://127.0.0.1:{port}{health}", proc, started)
    except BaseException:
        _stop(proc)
        raise


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: mlflow starts a child server
        proc.wait(timeout=60)


Cell = tuple[str, int, int]  # protocol, rows per request, concurrency


def _serve(
    server: Server, args: argparse.Namespace, kind: str, cells: list[Cell]
) -> dict[Cell, dict[str, float]]:
    """Start the server once more and measure each cell of its protocols on it."""
    port = _free_port()
    proc, _ = _start(server.command(port), server.health, port, server.environment(port))
    try:
        return {
            (protocol, rows, c): _load(
                port, args.requests if rows == 1 else args.big_requests, c, kind, proc.pid, rows, protocol
            )
            for protocol, rows, c in cells
            if protocol in server.protocols
        }
    finally:
        _stop(proc)


@dataclass
class Server:
    """How to start one server: ``{port}`` in ``argv`` and ``env`` is replaced by a free port,
    ``{port2}`` and ``{port3}`` by the next ones (MLServer's gRPC and metrics ports)."""

    name: str
    argv: list[str]
    health: str
    env: dict[str, str]
    protocols: tuple[str, ...] = ("mlflow",)

    def command(self, port: int) -> list[str]:
        return [self._fill(a, port) for a in self.argv]

    def environment(self, port: int) -> dict[str, str]:
        return {k: self._fill(v, port) for k, v in self.env.items()}

    @staticmethod
    def _fill(text: str, port: int) -> str:
        return (
            text.replace("{port}", str(port))
            .replace("{port2}", str(port + 1))
            .replace("{port3}", str(port + 2))
        )


def _ready_times(servers: list[Server], starts: int) -> dict[str, list[float]]:
    """Seconds to the first successful health check, ``starts`` times each, interleaved."""
    times: dict[str, list[float]] = {s.name: [] for s in servers}
    for _ in range(starts):
        for server in servers:
            port = _free_port()
            proc, ready = _start(server.command(port), server.health, port, server.environment(port))
            _stop(proc)
            times[server.name].append(ready)
    return times


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


def ensure_mlserver() -> Path | None:
    python = MLSERVER_VENV / "bin" / "python"
    if not (MLSERVER_VENV / ".installed").exists():
        print("installing MLServer into .bench/venv-mlserver (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(MLSERVER_VENV)], check=True)
        # MLServer 1.7 calls asyncio.get_event_loop() outside a loop, which uvloop 0.22+ refuses.
        packages = ["mlserver", "mlserver-sklearn", "uvloop<0.22"]
        done = subprocess.run([str(MLSERVER_VENV / "bin" / "pip"), "install", "-q", *packages])
        if done.returncode != 0:
            print("MLServer could not be installed: skipped")
            return None
        (MLSERVER_VENV / ".installed").write_text("ok")
    if subprocess.run([str(python), "-c", "import mlserver_sklearn"], capture_output=True).returncode != 0:
        print("MLServer is not importable in .bench/venv-mlserver: skipped")
        return None
    return python


def _print_cell(
    loads: dict[str, dict[Cell, dict[str, float]]], kind: str, cell: Cell, args: argparse.Namespace
) -> None:
    protocol, rows, c = cell
    shown = {name: by_cell[cell] for name, by_cell in loads.items() if cell in by_cell}
    if not shown:
        return
    body = (
        "dataframe_split on /invocations" if protocol == "mlflow" else "OIP (pandas codec) on /v2/.../infer"
    )
    requests = args.requests if rows == 1 else args.big_requests
    print(f"\nHTTP, model {kind!r}, {rows}-row {body}, concurrency {c}, {requests} requests, one worker:")
    print(
        f"  {'server':<22} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'failed':>7} "
        f"{'server CPU/req':>15} {'client CPU/req':>15}"
    )
    for name, m in shown.items():
        print(
            f"  {name:<22} {m['rps']:>8.0f} {m['p50_ms']:>8.2f} {m['p99_ms']:>8.2f} {m['failed']:>7.0f} "
            f"{m['server_cpu_ms']:>12.2f} ms {m['client_cpu_ms']:>12.2f} ms"
        )
    ours = shown.get("mlops-kit serve")
    for name, m in shown.items():
        if ours is not None and name != "mlops-kit serve":
            print(
                f"  ratios (mlops-kit / {name}): throughput {ours['rps'] / m['rps']:.2f}x, "
                f"p50 {ours['p50_ms'] / m['p50_ms']:.2f}x, p99 {ours['p99_ms'] / m['p99_ms']:.2f}x"
            )


def _measure(command: list[str], requests: int, server: int) -> dict[str, float]:
    """Run a load client (``{n}`` and ``{out}`` in ``command``): a warm-up, then ``requests``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "records.json"
        for n in (min(200, requests), requests):  # warm-up, then the measured run
            cmd = [a.replace("{n}", str(n)).replace("{out}", str(out)) for a in command]
            server_cpu, client_cpu = _cpu_of_group(server), _children_cpu()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        server_cpu, client_cpu = _cpu_of_group(server) - server_cpu, _children_cpu() - client_cpu
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
        "server_cpu_ms": server_cpu / requests * 1000,
        "client_cpu_ms": client_cpu / requests * 1000,
    }


def grpc_mode(args: argparse.Namespace, me: list[str], kinds: list[str], concurrency: list[int]) -> None:
    """REST and gRPC side by side on one server process (see the module docstring)."""
    BENCH.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for kind in kinds:
        with tempfile.TemporaryDirectory(dir=BENCH) as tmp:
            folder = Path(tmp) / "store"
            _run_json([*me, "--worker", "prepare-ours", "--folder", str(folder), "--model", kind], env=env)
            port, grpc_port = _free_port(), _free_port()
            cli = [
                sys.executable,
                "-m",
                "mlops_kit.cli",
                "serve",
                "churn@production",
                "--storage",
                str(folder),
            ]
            cli += ["--port", str(port), "--grpc-port", str(grpc_port)]
            proc, _ = _start(cli, "/v2/health/ready", port, env)
            url = f"http://127.0.0.1:{port}"
            try:
                for c in concurrency:
                    rest = [sys.executable, str(CLIENT), url, "{n}", str(c), "{out}"]
                    clients = {
                        "REST dataframe_split": [*rest, "/invocations", _body(kind)],
                        "REST OIP JSON infer": [*rest, "/v2/models/churn/infer", _body(kind, 1, "oip")],
                        "gRPC ModelInfer (raw)": [
                            sys.executable,
                            str(GRPC_CLIENT),
                            f"127.0.0.1:{grpc_port}",
                            "{n}",
                            str(c),
                            "{out}",
                            "churn",
                            kind,
                        ],
                    }
                    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in clients}
                    for _ in range(args.rounds):  # in turns: a noisy neighbour hits all alike
                        for name, command in clients.items():
                            rounds[name].append(_measure(command, args.requests, proc.pid))
                    print(
                        f"\nmodel {kind!r}, 1-row requests, concurrency {c}, {args.requests} requests, "
                        f"one server process, best of {args.rounds} rounds (all rounds' req/s in brackets):"
                    )
                    print(
                        f"  {'protocol':<24} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'server CPU/req':>15} {'client CPU/req':>15}"
                    )
                    best = {name: max(rs, key=lambda m: m["rps"]) for name, rs in rounds.items()}
                    for name, m in best.items():
                        all_rps = ", ".join(f"{r['rps']:.0f}" for r in rounds[name])
                        print(
                            f"  {name:<24} {m['rps']:>8.0f} {m['p50_ms']:>8.2f} {m['p99_ms']:>8.2f} "
                            f"{m['server_cpu_ms']:>12.2f} ms {m['client_cpu_ms']:>12.2f} ms  [{all_rps}]"
                        )
                    grpc_rps = best["gRPC ModelInfer (raw)"]["rps"]
                    print(
                        f"  gRPC / REST throughput: {grpc_rps / best['REST dataframe_split']['rps']:.2f}x "
                        f"(dataframe_split), {grpc_rps / best['REST OIP JSON infer']['rps']:.2f}x (OIP JSON)"
                    )
            finally:
                _stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", default="16,1", help="comma-separated, e.g. 16,1")
    parser.add_argument("--starts", type=int, default=3, help="starts per server for the ready time")
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--skip-mlserver", action="store_true")
    parser.add_argument("--rows", default="1,1000", help="rows per request, comma-separated")
    parser.add_argument("--big-concurrency", default="4", help="concurrency of the requests of many rows")
    parser.add_argument("--big-requests", type=int, default=600, help="requests per cell of many rows")
    parser.add_argument("--model", choices=["pipeline", "linear", "both"], default="both")
    parser.add_argument("--grpc", action="store_true", help="REST vs gRPC on one server, only")
    parser.add_argument(
        "--rounds", type=int, default=3, help="with --grpc: measurements per protocol, in turns"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker in ("inproc", "prepare-ours", "prepare-mlflow", "prepare-mlserver", "prepare-floor"):
        if args.worker == "inproc":
            print(json.dumps(worker_inproc(args.repeat, args.model)))
            return
        prepare = {
            "prepare-ours": prepare_ours,
            "prepare-mlflow": prepare_mlflow,
            "prepare-mlserver": prepare_mlserver,
            "prepare-floor": prepare_floor,
        }
        prepare[args.worker](Path(args.folder), args.model)
        print("{}")
        return

    me = [sys.executable, str(Path(__file__).resolve())]
    kinds = ["pipeline", "linear"] if args.model == "both" else [args.model]
    concurrency = [int(c) for c in args.concurrency.split(",")]
    rows_list = [int(r) for r in args.rows.split(",")]
    big = [int(c) for c in args.big_concurrency.split(",")]
    cells: list[Cell] = [
        (protocol, rows, c)
        for rows in rows_list
        for protocol in ("mlflow", "oip")
        for c in (concurrency if rows == 1 else big)
    ]
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "mlops_kit")], check=True)
    if args.grpc:
        grpc_mode(args, me, kinds, concurrency)
        print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return
    print(f"in-process predict (median of {args.repeat}, interleaved):")
    bare_1 = {}
    for kind in kinds:
        r = _run_json([*me, "--worker", "inproc", "--repeat", str(args.repeat), "--model", kind])
        bare_1[kind] = r["bare_1"]
        for rows in (1, 1000):
            bare, ours = r[f"bare_{rows}"], r[f"ours_{rows}"]
            print(
                f"  {kind:<8} {rows:>5} rows: model.predict {bare:8.1f} us | endpoint.predict {ours:8.1f} us | "
                f"ratio {ours / bare:.2f}x | overhead {ours - bare:6.1f} us"
            )

    BENCH.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    python = None if args.skip_mlflow else ensure_mlflow()
    mlserver = None if args.skip_mlserver else ensure_mlserver()
    for kind in kinds:
        with tempfile.TemporaryDirectory(dir=BENCH) as tmp:
            folder = Path(tmp) / "store"
            _run_json([*me, "--worker", "prepare-ours", "--folder", str(folder), "--model", kind], env=env)
            _run_json(
                [*me, "--worker", "prepare-floor", "--folder", f"{tmp}/floor", "--model", kind], env=env
            )
            cli = [sys.executable, "-m", "mlops_kit.cli", "serve", "churn@production"]
            servers = [
                Server(
                    "mlops-kit serve",
                    [*cli, "--storage", str(folder), "--port", "{port}"],
                    "/v2/health/ready",
                    env,
                    ("mlflow", "oip"),
                )
            ]
            if python is not None:
                model_dir = Path(tmp) / "mlflow-model"
                theirs = [str(python), str(Path(__file__).resolve()), "--worker", "prepare-mlflow"]
                _run_json([*theirs, "--folder", str(model_dir), "--model", kind])
                cmd = [str(python.parent / "mlflow"), "models", "serve", "-m", str(model_dir)]
                cmd += ["--env-manager", "local", "-h", "127.0.0.1", "-p", "{port}"]
                menv = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
                menv["PATH"] = f"{python.parent}{os.pathsep}{menv.get('PATH', '')}"  # it runs `uvicorn`
                servers.append(Server("mlflow models serve", cmd, "/ping", menv))
            if mlserver is not None:
                model_dir = Path(tmp) / "mlserver-model"
                theirs = [str(mlserver), str(Path(__file__).resolve()), "--worker", "prepare-mlserver"]
                _run_json([*theirs, "--folder", str(model_dir), "--model", kind])
                senv = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
                senv["PATH"] = f"{mlserver.parent}{os.pathsep}{senv.get('PATH', '')}"
                senv |= {
                    "MLSERVER_HTTP_PORT": "{port}",
                    "MLSERVER_GRPC_PORT": "{port2}",
                    "MLSERVER_METRICS_PORT": "{port3}",
                    "MLSERVER_HOST": "127.0.0.1",
                }
                cmd = [str(mlserver.parent / "mlserver"), "start", str(model_dir)]
                servers.append(Server("mlserver", cmd, "/v2/models/churn/ready", senv, ("oip",)))
            floor = [
                sys.executable,
                f"{tmp}/floor/floor.py",
                f"{tmp}/floor/model.pkl",
                f"{tmp}/floor/row.pkl",
            ]
            ready = _ready_times(
                [*servers, Server("floor (unpickle+predict)", [*floor, "{port}"], "/", env)], args.starts
            )
            loads = {s.name: _serve(s, args, kind, cells) for s in servers}
        print(f"\nstart to ready, model {kind!r}, median of {args.starts} (all starts):")
        for name, times in ready.items():
            print(
                f"  {name:<26} {statistics.median(times):6.2f} s   ({', '.join(f'{t:.2f}' for t in times)})"
            )
        for cell in cells:
            _print_cell(loads, kind, cell, args)
        print(
            f"  (the bare model alone, one call per 1-row request, cannot exceed {1e6 / bare_1[kind]:.0f} req/s)"
        )
        floor_ready = statistics.median(ready["floor (unpickle+predict)"])
        for name, times in ready.items():
            print(f"  ready: {name} - floor = {statistics.median(times) - floor_ready:+.2f} s")
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
