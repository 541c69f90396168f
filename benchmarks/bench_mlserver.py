"""MLServer running our runtime against MLServer's own scikit-learn runtime, on the same model.

    python benchmarks/bench_mlserver.py [--requests 3000] [--concurrency 8,1] [--rows 1,100]
                                        [--rounds 3] [--parallel-workers 0]

One MLServer process (1.7.1, from the venv the tests make: ``tests/integrations/_mlserver_env.py``)
serves two models of the same fitted scikit-learn pipeline (scaling + one-hot encoding +
logistic regression, ``bench_serving.py``'s **pipeline** model):

- **ours**: ``mlops_kit.integrations.mlserver.RegistryRuntime`` on the settings
  ``mlops-kit export mlserver`` wrote: loaded from the registry after its integrity
  check, inputs checked against the signature, every request counted per version and
  written to the endpoint's prediction log (flushed every 5 s, as exported);
- **theirs**: ``mlserver_sklearn.SKLearnModel`` on a ``model.joblib`` of the same model
  object (dumped by the venv's own joblib).

Both get the same bodies (the Open Inference Protocol with MLServer's pandas codec,
``content_type: pd``, one tensor per column) from ``tests/deploy/_load_client.py`` in its
own process, at each ``--concurrency`` and ``--rows``, in alternating rounds; the best
round of each is kept, and the ratio ours/theirs printed. At the end the prediction log
is read back to show that every request was logged.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bench_serving import CLIENT, TRAIN, _body, _free_port, _measure, _wait_ready  # noqa: E402

from tests.integrations._mlserver_env import environment, mlserver_venv  # noqa: E402


def prepare(store: str, models: Path, venv: Path, ports: tuple[int, int], workers: int) -> None:
    """Register the model, deploy it, export our settings, and the joblib model for theirs."""
    import mlops_kit as mk
    from mlops_kit.cli import main as cli

    namespace: dict[str, object] = {}
    exec(TRAIN, namespace)
    model, X = namespace["train"]("pipeline")  # type: ignore[operator]
    registry = mk.Registry(mk.storage(store))
    registry.register("churn", model, input_example=X.head(5))
    mk.LocalDeployer(registry).deploy("churn:1", endpoint="churn").close()
    args = ["--storage", store, "export", "mlserver", "churn", "--out", str(models), "--host", "127.0.0.1"]
    args += ["--http-port", str(ports[0]), "--grpc-port", str(ports[1]), "--metrics-port", "0"]
    try:
        cli.main(args, standalone_mode=False)
    except SystemExit as exc:
        if exc.code:
            raise
    settings = json.loads((models / "settings.json").read_text())
    settings["parallel_workers"] = workers
    (models / "settings.json").write_text(json.dumps(settings))
    theirs = models / "sklearn"
    theirs.mkdir()
    dump = "import sys, joblib, mlops_kit as mk; joblib.dump(mk.Registry(mk.storage(sys.argv[1])).load('churn:1'), sys.argv[2])"
    subprocess.run(
        [str(venv / "bin" / "python"), "-c", dump, store, str(theirs / "model.joblib")],
        env=environment(),
        check=True,
    )
    (theirs / "model-settings.json").write_text(
        json.dumps(
            {
                "name": "sklearn",
                "implementation": "mlserver_sklearn.SKLearnModel",
                "parameters": {"uri": "./model.joblib"},
            }
        )
    )


def load(port: int, model: str, requests: int, concurrency: int, rows: int, server: int) -> dict[str, float]:
    url, body = f"http://127.0.0.1:{port}", _body("pipeline", rows, "oip")
    command = [
        sys.executable,
        str(CLIENT),
        url,
        "{n}",
        str(concurrency),
        "{out}",
        f"/v2/models/{model}/infer",
        body,
    ]
    return _measure(command, requests, server)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", default="8,1")
    parser.add_argument("--rows", default="1,100")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--parallel-workers", type=int, default=0)
    args = parser.parse_args()
    venv = mlserver_venv()
    import mlops_kit as mk

    with tempfile.TemporaryDirectory() as tmp:
        store, models = str(Path(tmp) / "store"), Path(tmp) / "models"
        http, grpc = _free_port(), _free_port()
        prepare(store, models, venv, (http, grpc), args.parallel_workers)
        proc = subprocess.Popen(
            [str(venv / "bin" / "mlserver"), "start", str(models)],
            cwd=tmp,
            env=environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: the server's CPU is counted apart
        )
        sent = 0
        try:
            for model in ("churn", "sklearn"):
                _wait_ready(f"http://127.0.0.1:{http}/v2/models/{model}/ready", proc, time.monotonic())
            print(
                f"MLServer 1.7.1, parallel_workers={args.parallel_workers}; best of {args.rounds} rounds of {args.requests} requests"
            )
            print(
                f"{'rows':>5} {'conc':>5} {'ours req/s':>11} {'theirs req/s':>13} {'ratio':>6} {'ours p50':>9} {'theirs p50':>11} {'ours cpu/req':>13} {'theirs cpu/req':>15}"
            )
            for rows in (int(r) for r in args.rows.split(",")):
                for concurrency in (int(c) for c in args.concurrency.split(",")):
                    best: dict[str, dict[str, float]] = {}
                    for _ in range(args.rounds):
                        for model in ("churn", "sklearn"):
                            result = load(http, model, args.requests, concurrency, rows, proc.pid)
                            if model == "churn":
                                sent += (min(200, args.requests) + args.requests) * rows
                            if model not in best or result["rps"] > best[model]["rps"]:
                                best[model] = result
                    ours, theirs = best["churn"], best["sklearn"]
                    print(
                        f"{rows:>5} {concurrency:>5} {ours['rps']:>11.0f} {theirs['rps']:>13.0f} {ours['rps'] / theirs['rps']:>6.2f} "
                        f"{ours['p50_ms']:>7.1f}ms {theirs['p50_ms']:>9.1f}ms {ours['server_cpu_ms']:>11.2f}ms {theirs['server_cpu_ms']:>13.2f}ms",
                        flush=True,
                    )
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)  # MLServer unloads the models: our runtime flushes
                proc.wait(timeout=60)
        logged = len(mk.LocalDeployer(mk.Registry(mk.storage(store))).predictions("churn"))
        print(f"prediction log: {logged} rows logged of {sent} sent to our runtime")


if __name__ == "__main__":
    main()
