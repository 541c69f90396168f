"""Registry cycle vs MLflow 3 (SQLite) and the floor, side by side; get(name@alias) growth.

    python benchmarks/bench_registry.py [--cycles 50] [--mlflow-cycles 20] [--mlflow-default-cycles 3]
                                        [--repeat 3] [--versions 1000] [--skip-mlflow]
                                        [--signing] [--skip-growth]

The cycle: register a fitted LogisticRegression (20 features), point the alias
"production" at it, load the model by alias, predict 100 rows. Every cycle registers a
different model (nothing is deduplicated). Each tool runs in a fresh process, on a
fresh folder on the local disk:

- floor: cloudpickle.dumps + write + fsync + read + pickle.loads + predict;
- mlops_kit: Registry on FsspecStorage (fsync on), cloudpickle serializer;
- mlflow-default: MLflow 3 with its SQLite backend, ``mlflow.sklearn.log_model(...,
  registered_model_name=...)`` as a typical user runs it (pip requirements inferred),
  ``set_registered_model_alias``, ``mlflow.pyfunc.load_model("models:/name@alias")``;
- mlflow-tuned: the same with explicit ``pip_requirements`` (no inference).

MLflow is installed by this script into ``.bench/mlflow-venv`` (never into the
project's dependencies); if that fails, MLflow is skipped with a message.

With ``--signing``, a second part measures the cost of signing: in one process, the
floor, mlops_kit and mlops_kit on ``FsspecStorage(folder, signing_key=...)`` (every
record signed and verified) take turns cycle by cycle (the order rotating), so all
three see the same disk; ``--repeat`` such processes, medians.

The growth part registers ``--versions`` versions of one model, moving the alias to
each new version (so the events log grows as fast as the versions log), and measures
``get("name@alias")`` warm (the same process, median of 200 calls) and cold (a new
process: a new Registry over the same folder, first call), plus ``register``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / ".bench"
MLFLOW_VENV = BENCH / "mlflow-venv"
PHASES = ("register", "alias", "load", "predict")
SIGNING_KEY = "bench-signing-key"


def make_models(count: int):  # type: ignore[no-untyped-def]
    """``count`` distinct fitted LogisticRegression models (20 features) and 100 rows to predict."""
    import copy

    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 20))
    y = (X @ rng.normal(size=20) + rng.normal(size=2000) > 0).astype(int)
    base = LogisticRegression(max_iter=500).fit(X, y)
    models = []
    for i in range(count):
        model = copy.deepcopy(base)
        model.coef_ = model.coef_ + i * 1e-9  # distinct bytes, same behaviour
        models.append(model)
    return models, X[:100]


def summarize(timings: list[dict[str, float]]) -> dict[str, float]:
    out = {phase: statistics.median(t[phase] for t in timings) for phase in timings[0]}
    out["cycle"] = statistics.median(sum(t.values()) for t in timings)
    return out


# -- workers (each runs in its own process) -------------------------------------------


def floor_cycle(model, rows, path: str, fsync: bool = True) -> dict[str, float]:  # type: ignore[no-untyped-def]
    import pickle

    import cloudpickle

    t0 = time.perf_counter()
    data = cloudpickle.dumps(model)
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        if fsync:
            os.fsync(f.fileno())
    t1 = time.perf_counter()
    with open(path, "rb") as f:
        loaded = pickle.loads(f.read())
    t2 = time.perf_counter()
    loaded.predict(rows)
    t3 = time.perf_counter()
    return {"register": t1 - t0, "alias": 0.0, "load": t2 - t1, "predict": t3 - t2}


def kit_cycle(reg, model, rows) -> dict[str, float]:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    mv = reg.register("bench", model)
    t1 = time.perf_counter()
    reg.set_alias("bench", "production", mv.version)
    t2 = time.perf_counter()
    loaded = reg.load("bench@production")
    t3 = time.perf_counter()
    loaded.predict(rows)
    t4 = time.perf_counter()
    return {"register": t1 - t0, "alias": t2 - t1, "load": t3 - t2, "predict": t4 - t3}


def kit_registry(folder: str, signing: bool, fsync: bool = True):  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT))
    import mlops_kit as mk

    os.environ.pop("MLOPS_KIT_SIGNING_KEY", None)  # unsigned means unsigned
    key = SIGNING_KEY if signing else None
    return mk.Registry(mk.FsspecStorage(folder, signing_key=key, fsync=fsync))


def worker_floor(cycles: int, folder: str) -> dict[str, float]:
    models, rows = make_models(cycles + 1)
    timings = [floor_cycle(m, rows, os.path.join(folder, f"model-{i}.pkl")) for i, m in enumerate(models)]
    return summarize(timings[1:])  # the first cycle warms up imports and caches


def worker_mlops_kit(cycles: int, folder: str) -> dict[str, float]:
    models, rows = make_models(cycles + 1)
    reg = kit_registry(folder, signing=False)
    return summarize([kit_cycle(reg, m, rows) for m in models][1:])


def worker_signing(cycles: int, folder: str, fsync: bool) -> dict[str, dict[str, float]]:
    """Floor, unsigned and signed cycles alternated in one process, the order rotating.

    The disk's fsync latency drifts by several times within a minute on a shared
    machine, so separate processes compare different disks; alternating cycle by cycle
    gives every tool the same disk.
    """
    models, rows = make_models(cycles + 1)
    registries = {}
    for tool, signing in (("mlops_kit", False), ("mlops_kit-signed", True)):
        os.makedirs(os.path.join(folder, tool))
        registries[tool] = kit_registry(os.path.join(folder, tool), signing, fsync)
    tools = ["floor", *registries]
    timings: dict[str, list[dict[str, float]]] = {tool: [] for tool in tools}
    for i, model in enumerate(models):
        for tool in tools[i % 3 :] + tools[: i % 3]:
            if tool == "floor":
                t = floor_cycle(model, rows, os.path.join(folder, f"model-{i}.pkl"), fsync)
            else:
                t = kit_cycle(registries[tool], model, rows)
            if i:
                timings[tool].append(t)
    return {tool: summarize(ts) for tool, ts in timings.items()}


def worker_mlflow(cycles: int, folder: str, tuned: bool) -> dict[str, float]:
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    os.chdir(folder)  # MLflow puts artifacts under ./mlruns by default
    import cloudpickle
    import mlflow
    import mlflow.pyfunc
    import mlflow.sklearn
    import sklearn
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(f"sqlite:///{folder}/mlflow.db")
    client = MlflowClient()
    requirements = [f"scikit-learn=={sklearn.__version__}", f"cloudpickle=={cloudpickle.__version__}"]
    models, rows = make_models(cycles + 1)
    timings = []
    for i, model in enumerate(models):
        t0 = time.perf_counter()
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                registered_model_name="bench",
                pip_requirements=requirements if tuned else None,
            )
        t1 = time.perf_counter()
        client.set_registered_model_alias("bench", "production", info.registered_model_version)
        t2 = time.perf_counter()
        loaded = mlflow.pyfunc.load_model("models:/bench@production")
        t3 = time.perf_counter()
        loaded.predict(rows)
        t4 = time.perf_counter()
        if i:
            timings.append({"register": t1 - t0, "alias": t2 - t1, "load": t3 - t2, "predict": t4 - t3})
    return summarize(timings) | {"version": mlflow.__version__}  # type: ignore[operator]


def worker_growth(versions: int, folder: str, checkpoints: list[int]) -> dict[str, dict[str, float]]:
    sys.path.insert(0, str(ROOT))
    import mlops_kit as mk

    models, _ = make_models(1)
    model = models[0]
    reg = mk.Registry(mk.FsspecStorage(folder))
    out: dict[str, dict[str, float]] = {}
    registering: list[float] = []
    for n in range(1, versions + 1):
        model.coef_[0, 0] += 1e-9
        t0 = time.perf_counter()
        mv = reg.register("bench", model)
        registering.append(time.perf_counter() - t0)
        reg.set_alias("bench", "production", mv.version)
        if n in checkpoints:
            calls = []
            for _ in range(200):
                t = time.perf_counter()
                reg.get("bench@production")
                calls.append(time.perf_counter() - t)
            cold = subprocess.run(
                [sys.executable, __file__, "--worker", "cold-get", "--folder", folder],
                capture_output=True,
                text=True,
                check=True,
            )
            out[str(n)] = {
                "get_warm": statistics.median(calls),
                "get_cold": json.loads(cold.stdout.strip().splitlines()[-1])["get_cold"],
                "register": statistics.median(registering[-20:]),
            }
    return out


def worker_cold_get(folder: str) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    import mlops_kit as mk

    reg = mk.Registry(mk.FsspecStorage(folder))
    t = time.perf_counter()
    reg.get("bench@production")
    return {"get_cold": time.perf_counter() - t}


# -- driver ---------------------------------------------------------------------------


def ensure_mlflow() -> str | None:
    """The Python of a venv with MLflow 3, installed on first use; ``None`` if impossible."""
    python = MLFLOW_VENV / "bin" / "python"
    probe = [str(python), "-c", "import mlflow, sklearn; assert mlflow.__version__ >= '3'"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return str(python)
    print(f"installing MLflow 3 into {MLFLOW_VENV} (once; a few minutes) ...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "mlflow>=3,<4", "scikit-learn", "cloudpickle"],
            check=True,
        )
        subprocess.run(probe, check=True, capture_output=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"MLflow skipped: could not install it ({exc}).")
        return None
    return str(python)


def run(python: str, tool: str, *args: str) -> dict:  # type: ignore[type-arg]
    BENCH.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=BENCH) as folder:
        out = subprocess.run(
            [python, __file__, "--worker", tool, "--folder", folder, *args],
            capture_output=True,
            text=True,
        )
    if out.returncode != 0:
        raise RuntimeError(f"{tool} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def print_signing(runs: list[dict], fsync: bool) -> None:  # type: ignore[type-arg]
    results = {
        tool: {k: statistics.median(r[tool][k] for r in runs) for k in (*PHASES, "cycle")} for tool in runs[0]
    }
    floor, plain, signed = (results[t]["cycle"] for t in ("floor", "mlops_kit", "mlops_kit-signed"))
    print(
        f"\nsigning: floor, unsigned and signed cycles alternated in one process, fsync {'on' if fsync else 'off'};"
        f" median ms of {len(runs)} runs"
    )
    print(f"{'tool':<18}" + "".join(f"{p:>10}" for p in (*PHASES, "cycle")) + f"{'vs floor':>10}")
    for tool, r in results.items():
        cells = "".join(f"{r[p] * 1e3:>10.2f}" for p in (*PHASES, "cycle"))
        print(f"{tool:<18}{cells}{r['cycle'] / floor:>9.2f}x")
    print(f"mlops_kit / floor: {plain / floor:.2f}x, signed / floor: {signed / floor:.2f}x (target <= 3x)")
    print(f"signed / unsigned: {signed / plain:.3f}x (target <= 1.10x)")
    per_run = [r["mlops_kit-signed"]["cycle"] / r["mlops_kit"]["cycle"] for r in runs]
    print(f"  per run: {', '.join(f'{x:.3f}x' for x in per_run)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--mlflow-cycles", type=int, default=20)
    parser.add_argument("--mlflow-default-cycles", type=int, default=3)
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument(
        "--repeat", type=int, default=3, help="interleaved runs of floor, mlops_kit, mlflow-tuned"
    )
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--signing", action="store_true", help="also measure the cycle signed vs unsigned")
    parser.add_argument(
        "--no-fsync", action="store_true", help="signing part without fsync (floor too): the CPU cost alone"
    )
    parser.add_argument("--skip-growth", action="store_true", help="skip the get(name@alias) growth part")
    parser.add_argument("--worker")
    parser.add_argument("--folder")
    args = parser.parse_args()
    if args.worker:
        if args.worker == "floor":
            result: dict = worker_floor(args.cycles, args.folder)  # type: ignore[type-arg]
        elif args.worker == "mlops_kit":
            result = worker_mlops_kit(args.cycles, args.folder)
        elif args.worker in ("mlflow-default", "mlflow-tuned"):
            result = worker_mlflow(args.cycles, args.folder, tuned=args.worker == "mlflow-tuned")
        elif args.worker == "signing":
            result = worker_signing(args.cycles, args.folder, fsync=not args.no_fsync)
        elif args.worker == "growth":
            marks = sorted({n for n in (1, 10, 100, 1000, args.versions) if n <= args.versions})
            result = worker_growth(args.versions, args.folder, marks)
        else:
            result = worker_cold_get(args.folder)
        print(json.dumps(result))
        return

    mlflow = None if args.skip_mlflow else ensure_mlflow()
    if args.skip_mlflow:
        print("MLflow skipped (--skip-mlflow).")
    runs: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for _ in range(args.repeat):  # interleaved, so drift in machine load hits every tool alike
        runs.setdefault("floor", []).append(run(sys.executable, "floor", "--cycles", str(args.cycles)))
        runs.setdefault("mlops_kit", []).append(
            run(sys.executable, "mlops_kit", "--cycles", str(args.cycles))
        )
        if mlflow is not None:
            tuned = run(mlflow, "mlflow-tuned", "--cycles", str(args.mlflow_cycles))
            runs.setdefault("mlflow-tuned", []).append(tuned)
    if mlflow is not None:
        default = run(mlflow, "mlflow-default", "--cycles", str(args.mlflow_default_cycles))
        runs["mlflow-default"] = [default]
    results = {
        tool: {k: statistics.median(r[k] for r in rs) for k in (*PHASES, "cycle")}
        | {"version": rs[0].get("version")}
        for tool, rs in runs.items()
    }
    ours = results["mlops_kit"]["cycle"]
    version = results.get("mlflow-tuned", {}).get("version")
    print(
        f"\ncycle = register + alias + load by alias + predict 100 rows; median ms of {args.repeat} runs"
        f"{f'; MLflow {version} + SQLite' if version else ''}"
    )
    print(f"{'tool':<16}" + "".join(f"{p:>10}" for p in (*PHASES, "cycle")) + f"{'vs mlops_kit':>14}")
    for tool, r in results.items():
        cells = "".join(f"{r[p] * 1e3:>10.2f}" for p in (*PHASES, "cycle"))
        print(f"{tool:<16}{cells}{r['cycle'] / ours:>13.1f}x")
    floor = results["floor"]["cycle"]
    print(f"\nmlops_kit / floor: {ours / floor:.2f}x (target <= 3x)")
    if "mlflow-tuned" in results:
        tuned = results["mlflow-tuned"]["cycle"]
        print(f"MLflow tuned / mlops_kit: {tuned / ours:.1f}x (target >= 25x)")
        print(f"MLflow default / mlops_kit: {results['mlflow-default']['cycle'] / ours:.0f}x")

    if args.signing:
        extra = ["--no-fsync"] if args.no_fsync else []
        runs_signing = [
            run(sys.executable, "signing", "--cycles", str(args.cycles), *extra) for _ in range(args.repeat)
        ]
        print_signing(runs_signing, fsync=not args.no_fsync)
    if args.skip_growth:
        return
    growth = run(sys.executable, "growth", "--versions", str(args.versions))
    print("\nget('bench@production') and register as versions grow (alias moved at every version), ms")
    print(f"{'versions':>9}{'get warm':>11}{'get cold':>11}{'register':>11}")
    for n, g in growth.items():
        print(f"{n:>9}{g['get_warm'] * 1e3:>11.3f}{g['get_cold'] * 1e3:>11.2f}{g['register'] * 1e3:>11.2f}")
    print("warm: same process, median of 200 calls; cold: a new process's first call (target < 10 ms)")


if __name__ == "__main__":
    main()
