"""Pipeline benchmark: mlops_kit side by side with Kedro and Hamilton, run by hand.

    python benchmarks/bench_pipeline.py            # everything
    python benchmarks/bench_pipeline.py --quick    # fewer repetitions
    python benchmarks/bench_pipeline.py --only chain   # chain | train | dask

What it measures (every tool in a fresh process, median of several runs):

1. A chain of 200 no-op steps: per-step framework overhead of mlops_kit (cache off;
   cache on with a MemoryStorage, cold and all hits), Kedro's SequentialRunner
   (logging quiet) and Hamilton's driver (without and with its cache).
2. A small training pipeline (load -> features -> fit RandomForest -> evaluate) on a
   local-folder storage: cold run vs fully cached re-run.
3. DaskRunner vs raw ``client.submit`` chains on the same LocalCluster.

Kedro and Hamilton are installed only into throwaway virtual environments under
``.bench/`` (gitignored), never into the project's dependencies; a peer that cannot
be installed is skipped with a message.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"
N_STEPS = 200

PEERS = {
    # venv name: (pip requirements tried in order, import check)
    "kedro": (["kedro"], "import kedro"),
    "hamilton": (["apache-hamilton", "sf-hamilton"], "import hamilton"),
}

# -- the workloads, each run as a script in a fresh interpreter -------------------------

CHAIN_MODULE = "\n".join(
    ["import mlops_kit as mk", ""]
    + [
        f"@mk.step\ndef s{i}({'x' if i == 0 else f's{i - 1}'}):\n    return {'x' if i == 0 else f's{i - 1}'}\n"
        for i in range(N_STEPS)
    ]
)

HAMILTON_MODULE = "\n".join(f"def d{i + 1}(d{i}: int) -> int:\n    return d{i}\n" for i in range(N_STEPS))

MLOPS_CHAIN = """
import json, statistics, sys, time
sys.path.insert(0, {dir!r})
import mlops_kit as mk
import chain_steps
N, REPS = {n}, {reps}
pipe = mk.Pipeline([getattr(chain_steps, f"s{{i}}") for i in range(N)], name="chain")

def timed(**kw):
    t0 = time.perf_counter()
    pipe.run(inputs={{"x": 0}}, progress=False, **kw)
    return (time.perf_counter() - t0) * 1000 / N

first_cold = timed(storage=mk.MemoryStorage())          # includes parsing 200 functions once
off = [timed(storage=mk.MemoryStorage(), cache=False) for _ in range(REPS)]
cold = [timed(storage=mk.MemoryStorage()) for _ in range(REPS)]
store = mk.MemoryStorage()
timed(storage=store)
hits = [timed(storage=store) for _ in range(REPS)]
print(json.dumps({{"cache off": statistics.median(off), "cache on, cold": statistics.median(cold),
                  "cache on, cold, first run in process": first_cold, "cache on, all hits": statistics.median(hits)}}))
"""

KEDRO_CHAIN = """
import json, logging, statistics, time
logging.disable(logging.WARNING)
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import node, Pipeline
from kedro.runner import SequentialRunner
N, REPS = {n}, {reps}

def noop(x):
    return x

pipe = Pipeline([node(noop, f"d{{i}}", f"d{{i + 1}}", name=f"n{{i}}") for i in range(N)])

def once():
    catalog = DataCatalog({{"d0": MemoryDataset(0)}})
    t0 = time.perf_counter()
    SequentialRunner().run(pipe, catalog)
    return (time.perf_counter() - t0) * 1000 / N

once()
print(json.dumps({{"SequentialRunner": statistics.median([once() for _ in range(REPS)])}}))
"""

HAMILTON_CHAIN = """
import json, logging, statistics, sys, tempfile, time
logging.disable(logging.WARNING)
sys.path.insert(0, {dir!r})
from hamilton import driver
import hamilton_steps
N, REPS = {n}, {reps}
target = [f"d{{N}}"]

def timed(dr, x):
    t0 = time.perf_counter()
    dr.execute(target, inputs={{"d0": x}})
    return (time.perf_counter() - t0) * 1000 / N

plain = driver.Builder().with_modules(hamilton_steps).build()
timed(plain, 0)
result = {{"no cache": statistics.median([timed(plain, 0) for _ in range(REPS)])}}
cold = []
for i in range(max(2, REPS // 2)):
    dr = driver.Builder().with_modules(hamilton_steps).with_cache(path=tempfile.mkdtemp()).build()
    cold.append(timed(dr, i))
result["cache, cold"] = statistics.median(cold)
dr = driver.Builder().with_modules(hamilton_steps).with_cache(path=tempfile.mkdtemp()).build()
timed(dr, 0)
result["cache, all hits"] = statistics.median([timed(dr, 0) for _ in range(REPS)])
print(json.dumps(result))
"""

TRAIN = """
import json, statistics, sys, tempfile, time
import numpy as np, pandas as pd
import mlops_kit as mk

@mk.step
def load(n_rows: int = 5_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, 20))
    y = (X[:, 0] + 0.5 * X[:, 1] ** 2 + rng.normal(scale=0.5, size=n_rows) > 0.7).astype(int)
    return pd.DataFrame(X, columns=[f"f{{i}}" for i in range(20)]).assign(target=y)

@mk.step(outputs=("X_train", "X_test", "y_train", "y_test"))
def features(load: pd.DataFrame):
    X = load.drop(columns="target")
    X = (X - X.mean()) / X.std()
    cut = int(len(X) * 0.8)
    return X.iloc[:cut], X.iloc[cut:], load["target"].iloc[:cut], load["target"].iloc[cut:]

@mk.step
def model(X_train: pd.DataFrame, y_train: pd.Series, n_estimators: int = 50):
    from sklearn.ensemble import RandomForestClassifier
    return RandomForestClassifier(n_estimators=n_estimators, n_jobs=1, random_state=0).fit(X_train, y_train)

@mk.step
def evaluate(model, X_test: pd.DataFrame, y_test: pd.Series) -> float:
    from sklearn.metrics import roc_auc_score
    auc = float(roc_auc_score(y_test, model.predict_proba(X_test)[:, 1]))
    mk.log_metric("auc", auc)
    return auc

pipe = mk.Pipeline([load, features, model, evaluate], name="train")
REPS = {reps}
colds, hits = [], []
for _ in range(max(2, REPS // 2)):
    store = mk.storage(tempfile.mkdtemp())
    t0 = time.perf_counter()
    run = pipe.run(storage=store, progress=False)
    fitted, auc = run.outputs["model"], run.outputs["evaluate"]
    colds.append(time.perf_counter() - t0)
    for _ in range(2):
        t0 = time.perf_counter()
        again = pipe.run(storage=store, progress=False)
        fitted, auc = again.outputs["model"], again.outputs["evaluate"]  # loading the results counts too
        hits.append(time.perf_counter() - t0)
    assert all(s.cache_hit for s in again.steps) and again.metrics == run.metrics
print(json.dumps({{"cold run (s)": statistics.median(colds), "cached re-run (s)": statistics.median(hits),
                  "auc": run.metrics["auc"]}}))
"""

DASK = """
import json, logging, statistics, sys, time
logging.disable(logging.WARNING)
sys.path.insert(0, {dir!r})
import mlops_kit as mk
from distributed import Client, LocalCluster
import chain_steps
N, REPS = {n}, {reps}

def noop(x):
    return x

if __name__ == "__main__":
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster, \\
            Client(cluster) as client:
        pipe = mk.Pipeline([getattr(chain_steps, f"s{{i}}") for i in range(N)], name="chain")
        runner = mk.DaskRunner(client)
        raw, ours = [], []
        for rep in range(REPS + 1):  # interleaved, so both see the same machine load
            t0 = time.perf_counter()
            future = client.submit(noop, 0, pure=False)
            for _ in range(N - 1):
                future = client.submit(noop, future, pure=False)
            future.result()
            t_raw = time.perf_counter() - t0
            t0 = time.perf_counter()
            pipe.run(inputs={{"x": 0}}, runner=runner, cache=False, progress=False)
            t_ours = time.perf_counter() - t0
            if rep:  # the first round warms up the workers
                raw.append(t_raw * 1000 / N)
                ours.append(t_ours * 1000 / N)
        ratios = [o / r for o, r in zip(ours, raw)]
        print(json.dumps({{"raw client.submit chain": statistics.median(raw),
                          "DaskRunner (cache off)": statistics.median(ours),
                          "ratio": statistics.median(ratios)}}))
"""


# -- plumbing ---------------------------------------------------------------------------


def peer_python(name: str) -> Path | None:
    """The interpreter of the peer's throwaway venv, created on first use; None if it cannot be."""
    requirements, check = PEERS[name]
    venv = BENCH / name
    python = venv / "bin" / "python"
    if python.exists() and subprocess.run([python, "-c", check], capture_output=True).returncode == 0:
        return python
    print(f"  setting up {venv.relative_to(ROOT)} (pip install {' or '.join(requirements)}) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    for requirement in requirements:
        done = subprocess.run(
            [python, "-m", "pip", "install", "-q", requirement], capture_output=True, text=True
        )
        if (
            done.returncode == 0
            and subprocess.run([python, "-c", check], capture_output=True).returncode == 0
        ):
            return python
        print(f"  could not install {requirement}: {done.stderr.strip().splitlines()[-1:]}")
    print(f"  skipping {name}: it could not be installed")
    return None


def measure(python: Path | str, script: str, timeout: int = 1800) -> dict[str, float] | None:
    """Run ``script`` in a fresh interpreter; it prints one JSON line with its results."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [str(python), "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=timeout, env=env
    )
    if done.returncode != 0:
        print(f"  failed: {done.stderr.strip()[-2000:]}")
        return None
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def show(title: str, rows: list[tuple[str, float | None, str]]) -> None:
    print(f"\n{title}")
    for label, value, note in rows:
        shown = "skipped" if value is None else f"{value:9.4f}"
        print(f"  {label:<58} {shown}  {note}")


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or a == 0:
        return ""
    return f"(mlops_kit {b / a:.1f}x faster)" if b >= a else f"(mlops_kit {a / b:.1f}x slower)"


def bench_chain(work: Path, reps: int) -> None:
    (work / "chain_steps.py").write_text(CHAIN_MODULE)
    (work / "hamilton_steps.py").write_text(HAMILTON_MODULE)
    mine = measure(sys.executable, MLOPS_CHAIN.format(dir=str(work), n=N_STEPS, reps=reps)) or {}
    kedro_py, hamilton_py = peer_python("kedro"), peer_python("hamilton")
    kedro = measure(kedro_py, KEDRO_CHAIN.format(n=N_STEPS, reps=reps)) if kedro_py else None
    hamilton = (
        measure(hamilton_py, HAMILTON_CHAIN.format(dir=str(work), n=N_STEPS, reps=reps))
        if hamilton_py
        else None
    )
    kedro, hamilton = kedro or {}, hamilton or {}
    off, cold, hits = mine.get("cache off"), mine.get("cache on, cold"), mine.get("cache on, all hits")
    show(
        f"Chain of {N_STEPS} no-op steps: framework overhead, ms per step (median; lower is better)",
        [
            ("mlops_kit, cache off  (target <= 0.05)", off, ""),
            ("mlops_kit, cache on, cold, MemoryStorage  (target <= 1)", cold, ""),
            (
                "mlops_kit, cache on, cold, first run in a process",
                mine.get("cache on, cold, first run in process"),
                "",
            ),
            ("mlops_kit, cache on, all hits  (target <= 0.3)", hits, ""),
            (
                "Kedro SequentialRunner",
                kedro.get("SequentialRunner"),
                ratio(off, kedro.get("SequentialRunner")),
            ),
            ("Hamilton driver, no cache", hamilton.get("no cache"), ratio(off, hamilton.get("no cache"))),
            (
                "Hamilton driver, cache, cold",
                hamilton.get("cache, cold"),
                ratio(cold, hamilton.get("cache, cold")),
            ),
            (
                "Hamilton driver, cache, all hits",
                hamilton.get("cache, all hits"),
                ratio(hits, hamilton.get("cache, all hits")),
            ),
        ],
    )


def bench_train(reps: int) -> None:
    result = measure(sys.executable, TRAIN.format(reps=reps)) or {}
    cold, hit = result.get("cold run (s)"), result.get("cached re-run (s)")
    speedup = f"{cold / hit:.0f}x faster (target >= 20x)" if cold and hit else ""
    show(
        "Training pipeline (load -> features -> RandomForest(50 trees, 5k rows) -> evaluate), local-folder storage, seconds;\n  the cached re-run includes loading the model and the score back",
        [("cold run", cold, ""), ("fully cached re-run", hit, speedup)],
    )


def bench_dask(work: Path, reps: int) -> None:
    (work / "chain_steps.py").write_text(CHAIN_MODULE)
    result = measure(sys.executable, DASK.format(dir=str(work), n=N_STEPS, reps=reps)) or {}
    show(
        f"Dask: chain of {N_STEPS} dependent steps on LocalCluster(2 workers), ms per step",
        [
            ("raw client.submit chain", result.get("raw client.submit chain"), ""),
            ("mlops_kit DaskRunner, cache off", result.get("DaskRunner (cache off)"), ""),
            ("median ratio DaskRunner / raw  (target <= 1.5)", result.get("ratio"), ""),
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--only", choices=["chain", "train", "dask"], help="run one part")
    args = parser.parse_args()
    reps = 3 if args.quick else 9
    work = BENCH / "work"
    work.mkdir(parents=True, exist_ok=True)
    print(f"mlops_kit pipeline benchmark: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    if args.only in (None, "chain"):
        bench_chain(work, reps)
    if args.only in (None, "train"):
        bench_train(reps)
    if args.only in (None, "dask"):
        bench_dask(work, reps)


if __name__ == "__main__":
    main()
