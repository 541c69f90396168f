"""CPU per request of our MLServer runtime and of MLServer's scikit-learn runtime, in one process.

    python benchmarks/profile_mlserver_runtime.py [--requests 2000] [--rows 1,100] [--rounds 3]
                                                  [--profile]

Runs itself again inside the MLServer venv the tests make
(``tests/integrations/_mlserver_env.py``) with this checkout on ``PYTHONPATH``. There it
registers ``bench_serving.py``'s **pipeline** model, loads it through
``RegistryRuntime`` (from the registry, after ``Registry.verify``, counting and logging
every request, as ``mlops-kit export mlserver`` sets it up) and through
``mlserver_sklearn.SKLearnModel`` (a ``model.joblib`` of the same object), and awaits
each runtime's ``predict`` on the same decoded ``InferenceRequest`` bodies (the Open
Inference Protocol with the pandas codec, one tensor per column, as
``bench_mlserver.py`` sends), in alternating rounds. CPU is ``time.process_time``
(every thread, so our log's background flushes count), with our log flushed at the end
of each round inside the measured time; the best round is kept. ``--profile`` adds a
cProfile breakdown of our runtime per phase (inflated by the profiler: read it as
proportions).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

# (label, function name as cProfile shows it, file ending): the phases of our request
PHASES = [
    ("general way: MLServer's pandas codec", "decode_request", "mlserver/model.py"),
    ("plain columns? (types, ranges)", "_plain", "_mlserver_runtime.py"),
    ("table from plain columns", "plain_frame", "_inputs.py"),
    ("signature check (in the table's time)", "prepare", "_inputs.py"),
    ("model", "call", "_served.py"),
    ("count + buffer (Recorder.record)", "record", "_recorder.py"),
    ("encode the output", "encode_output", "codecs/numpy.py"),
]


def _requests(rows: int, n: int) -> list[object]:
    from bench_serving import _body
    from mlserver.types import InferenceRequest

    body = _body("pipeline", rows, "oip")
    return [InferenceRequest.model_validate_json(body) for _ in range(n)]


async def _models(tmp: Path) -> tuple[object, object]:
    import joblib
    from bench_serving import TRAIN
    from mlserver.settings import ModelParameters, ModelSettings
    from mlserver_sklearn import SKLearnModel

    import mlops_kit as mk
    from mlops_kit.integrations.mlserver import RegistryRuntime, model_settings

    namespace: dict[str, object] = {}
    exec(TRAIN, namespace)
    model, X = namespace["train"]("pipeline")  # type: ignore[operator]
    store = str(tmp / "store")
    registry = mk.Registry(mk.storage(store))
    registry.register("churn", model, input_example=X.head(5))
    mk.LocalDeployer(registry).deploy("churn:1", endpoint="churn").close()
    ours = RegistryRuntime(
        ModelSettings.model_validate(
            {**model_settings("churn", store=store, ref="churn:1"), "implementation": RegistryRuntime}
        )
    )
    joblib.dump(model, tmp / "model.joblib")
    theirs = SKLearnModel(
        ModelSettings(
            name="sklearn",
            implementation=SKLearnModel,
            parameters=ModelParameters(uri=str(tmp / "model.joblib")),
        )
    )
    await ours.load()
    await theirs.load()
    return ours, theirs


async def _round(runtime: object, requests: list[object], flush: object) -> float:
    """CPU ms per request of one round (every thread of the process)."""
    start = time.process_time()
    for request in requests:
        await runtime.predict(request)  # type: ignore[attr-defined]
    if flush is not None:
        flush()  # what is still buffered: its encoding belongs to these requests
    return (time.process_time() - start) * 1000.0 / len(requests)


def _time_flushes(log: object) -> list[float]:
    """Add up the CPU the log's flushes take on whichever thread runs them (profiled or not)."""
    spent = [0.0]
    flush = log.flush  # type: ignore[attr-defined]

    def timed() -> int:
        start = time.thread_time()
        try:
            return flush()  # type: ignore[no-any-return]
        finally:
            spent[0] += time.thread_time() - start

    log.flush = timed  # type: ignore[attr-defined]
    return spent


def _breakdown(stats: pstats.Stats, n: int) -> list[tuple[str, float]]:
    found = []
    entries = stats.stats  # type: ignore[attr-defined]
    for label, name, ending in PHASES:
        total = sum(v[3] for (file, _, func), v in entries.items() if func == name and file.endswith(ending))
        found.append((label, total * 1000.0 / n))
    return found


async def inside(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ours, theirs = await _models(Path(tmp))
        flush = ours._serving.recorder.flush  # type: ignore[attr-defined]
        flushing = _time_flushes(ours._serving.recorder.log)  # type: ignore[attr-defined]
        print(f"in-process CPU per request (process_time, all threads), best of {args.rounds} rounds")
        print(f"{'rows':>5} {'ours':>9} {'theirs':>9} {'ours/theirs':>12}")
        for rows in (int(r) for r in args.rows.split(",")):
            for runtime in (ours, theirs):  # warm-up
                for request in _requests(rows, 200):
                    await runtime.predict(request)
            flush()
            best = {"ours": float("inf"), "theirs": float("inf")}
            for _ in range(args.rounds):
                best["ours"] = min(best["ours"], await _round(ours, _requests(rows, args.requests), flush))
                best["theirs"] = min(
                    best["theirs"], await _round(theirs, _requests(rows, args.requests), None)
                )
            ratio = best["ours"] / best["theirs"]
            print(f"{rows:>5} {best['ours']:>7.3f}ms {best['theirs']:>7.3f}ms {ratio:>12.2f}", flush=True)
            if args.profile:
                for name, runtime, flusher in (("ours", ours, flush), ("theirs", theirs, None)):
                    requests = _requests(rows, args.requests)
                    flushing[0] = 0.0
                    profiler = cProfile.Profile()
                    profiler.enable()
                    await _round(runtime, requests, flusher)
                    profiler.disable()
                    stats = pstats.Stats(profiler)
                    total = stats.total_tt * 1000.0 / len(requests)  # type: ignore[attr-defined]
                    print(f"  {name}, under cProfile: {total:.3f} ms/request")
                    if name == "ours":
                        for label, ms in _breakdown(stats, len(requests)):
                            print(f"    {label:<40} {ms:.3f} ms")
                        per = flushing[0] * 1000.0 / len(requests)
                        print(f"    {'log flushes, any thread (thread CPU)':<40} {per:.3f} ms")
                    if args.top:
                        stats.sort_stats("tottime").print_stats(args.top)
        await ours.unload()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rows", default="1,100")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=0, help="also print cProfile's top N functions")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        asyncio.run(inside(args))
        return
    from tests.integrations._mlserver_env import environment, mlserver_venv

    venv = mlserver_venv()
    env = {**environment(), "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "benchmarks")])}
    command = [str(venv / "bin" / "python"), __file__, "--inside", *sys.argv[1:]]
    sys.exit(subprocess.run(command, env=env).returncode)


if __name__ == "__main__":
    main()
