"""Calibration and power study: how often each drift detector alarms, with and without drift.

Run by hand from the repository root, with the project's environment:

    python benchmarks/bench_monitor_stats.py                # every cell, peers included
    python benchmarks/bench_monitor_stats.py --quick        # fewer repetitions, no 1M-row cell
    python benchmarks/bench_monitor_stats.py --skip-peers   # mlops_kit and the exact tests only

A cell is a column kind and a sample size: normal, Pareto(1.5), Cauchy, Poisson, normal
with 10% nulls, normal with 1% infinities, and categorical columns with 2 to 5,000
categories (Zipf-like frequencies), at 100/100, 1k/1k, 10k/10k and 100k/1M rows
(reference/current). Each repetition draws a fresh reference and current sample, the same
for every tool (seeded). Under "no drift" both come from the same distribution, so the
alarm rate is the false-alarm rate (the target: at most 1.5x alpha = 7.5%). Under "drift"
the current sample is changed by an effect every detector should see (0.2 std shift, 1.25x
scale, 0.25 location for Cauchy, 3 -> 3.5 for Poisson, 30% infinities, 40% of each
category's share moved to the next one), and the alarm rate is the power;
the target is at least 0.9x the power of the exact scipy test (KS, or chi-square on the
contingency table) at the same alpha. The "25 columns" cell is a whole data set of 25
same-distribution columns with the Bonferroni correction: its rate is the family-wise rate.

Tools: mlops_kit's defaults (``Monitor(ref).check(cur)``), the same with calibrated
thresholds (``calibrate=True``), the exact scipy tests, and
Evidently's and NannyML's defaults, each peer in its own throwaway venv under ``.bench/``
(the venvs of bench_monitor.py), fed the same samples: every tool process draws them
itself from the same seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ALPHA = 0.05
SIZES = {"100": (100, 100), "1k": (1_000, 1_000), "10k": (10_000, 10_000), "100k/1M": (100_000, 1_000_000)}
REPS = {"100": 200, "1k": 200, "10k": 60, "100k/1M": 10}
NUMERIC = ("normal", "pareto", "cauchy", "poisson", "nulls", "infinities")
CATEGORIES = (2, 10, 100, 1_000, 5_000)


# -- samples (numpy and pandas only: every venv runs this) -----------------------------------


def sample(kind: str, n: int, seed: int, drift: bool):
    """One column of ``n`` values of ``kind``; ``drift`` applies the cell's change."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    if kind.startswith("cat"):
        k = int(kind[3:])
        p = 1.0 / np.arange(1, k + 1) ** 1.1
        p /= p.sum()
        if drift:
            p = 0.6 * p + 0.4 * np.roll(p, 1)  # 40% of each category's share moves to the next
        codes = rng.choice(k, n, p=p)
        return pd.Series(np.char.add("c", codes.astype(str)).astype(object))
    if kind == "pareto":
        return pd.Series((rng.pareto(1.5, n) + 1.0) * (1.25 if drift else 1.0))
    if kind == "cauchy":
        return pd.Series(rng.standard_cauchy(n) + (0.25 if drift else 0.0))
    if kind == "poisson":
        return pd.Series(rng.poisson(3.5 if drift else 3.0, n).astype("float64"))
    x = rng.standard_normal(n)
    if kind == "nulls":
        x = x + (0.2 if drift else 0.0)
        x[rng.random(n) < 0.1] = np.nan
    elif kind == "infinities":
        x[rng.random(n) < (0.3 if drift else 0.01)] = np.inf
    else:
        x = x + (0.2 if drift else 0.0)
    return pd.Series(x)


def frames(cell: str, size: str, rep: int, drift: bool):
    import pandas as pd

    n_ref, n_cur = SIZES[size]
    if cell == "25 columns":
        ref = pd.DataFrame({f"x{i}": sample("normal", n_ref, 10_000 * rep + i, False) for i in range(25)})
        cur = pd.DataFrame(
            {f"x{i}": sample("normal", n_cur, 10_000 * rep + 100 + i, False) for i in range(25)}
        )
        return ref, cur
    ref = pd.DataFrame({"x": sample(cell, n_ref, 2 * rep, False)})
    cur = pd.DataFrame({"x": sample(cell, n_cur, 2 * rep + 1, drift)})
    return ref, cur


# -- tools (each returns whether any column alarmed) -----------------------------------------


def _mlops_kit(**options) -> Callable:
    sys.path.insert(0, str(HERE.parent))
    import mlops_kit as mk

    def run(ref, cur) -> bool:
        correction = "bonferroni" if ref.shape[1] > 1 else None
        return bool(mk.Monitor(ref, correction=correction, **options).check(cur).drifted_columns)

    return run


def _mlops_kit_calibrated() -> Callable:
    return _mlops_kit(calibrate=True)


def _exact() -> Callable:
    import numpy as np
    import pandas as pd
    from scipy import stats

    def one(a, b) -> float:
        if a.dtype == object or pd.api.types.is_string_dtype(a.dtype):  # pandas 3 infers "str"
            keys = sorted(set(a) | set(b))
            table = np.array(
                [a.value_counts().reindex(keys, fill_value=0), b.value_counts().reindex(keys, fill_value=0)]
            )
            return float(stats.chi2_contingency(table).pvalue) if len(keys) > 1 else 1.0
        return float(stats.ks_2samp(a.dropna(), b.dropna()).pvalue)

    def run(ref, cur) -> bool:
        ps = [one(ref[c], cur[c]) for c in ref.columns]
        return min(ps) < ALPHA / len(ps)  # Bonferroni over the columns

    return run


def _evidently() -> Callable:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    sys.path.insert(0, str(HERE))
    from bench_monitor import evidently_drifted

    def run(ref, cur) -> bool:
        cat = [c for c in ref.columns if ref[c].dtype == object or ref[c].dtype.kind in "OUT"]
        num = [c for c in ref.columns if c not in cat]
        definition = DataDefinition(numerical_columns=num, categorical_columns=cat)
        snapshot = Report([DataDriftPreset()]).run(
            Dataset.from_pandas(cur, data_definition=definition),
            Dataset.from_pandas(ref, data_definition=definition),
        )
        return bool(evidently_drifted(snapshot))

    return run


def _nannyml() -> Callable:
    os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"
    import nannyml as nml

    def run(ref, cur) -> bool:
        # NannyML's default use: ~10 chunks, thresholds from the reference chunks' spread;
        # the column alarms when any analysis chunk alerts.
        calc = nml.UnivariateDriftCalculator(column_names=list(ref.columns))
        results = calc.fit(ref).calculate(cur).filter(period="analysis").to_df()
        alerts = [col for col in results.columns if col[-1] == "alert"]
        return bool(results[alerts].to_numpy().any())

    return run


TOOLS = {
    "mlops_kit": _mlops_kit,
    "mlops_kit calibrate=True": _mlops_kit_calibrated,
    "scipy exact": _exact,
    "evidently": _evidently,
    "nannyml": _nannyml,
}
PEER_OF = {"evidently": "evidently", "nannyml": "nannyml"}


def worker(tool: str, plan: list[tuple[str, str, int]]) -> dict[str, list[float]]:
    """Alarm rates (no drift, drift) and seconds for each (cell, size, reps) of the plan."""
    import warnings

    warnings.simplefilter("ignore")
    run = TOOLS[tool]()
    out = {}
    for cell, size, reps in plan:
        start = time.perf_counter()
        rates = []
        for drift in (False, True):
            if cell == "25 columns" and drift:
                rates.append(float("nan"))
                continue
            try:
                hits = sum(run(*frames(cell, size, rep, drift)) for rep in range(reps))
            except Exception as exc:  # a peer that cannot take the cell at all (NannyML on inf)
                print(f"[error] {tool} {cell} {size}: {type(exc).__name__}: {exc}"[:300], file=sys.stderr)
                rates.append(-1.0)
                continue
            rates.append(hits / reps)
        out[f"{cell}|{size}"] = [*rates, time.perf_counter() - start]
    return out


# -- orchestration -------------------------------------------------------------------------


def plan_for(quick: bool, scale: float) -> list[tuple[str, str, int]]:
    cells = [*NUMERIC, *(f"cat{k}" for k in CATEGORIES)]
    sizes = [s for s in SIZES if not (quick and s == "100k/1M")]
    plan = []
    for size in sizes:
        for cell in cells:
            if cell.startswith("cat") and int(cell[3:]) > SIZES[size][0] * 5:
                continue  # more categories than a sample can show
            plan.append((cell, size, max(3, int(REPS[size] * scale * (0.25 if quick else 1.0)))))
    plan.append(("25 columns", "1k", max(3, int(200 * scale * (0.25 if quick else 1.0)))))
    return plan


def run_tool(tool: str, plan: list[tuple[str, str, int]]) -> dict[str, list[float]] | None:
    python: Path | str = sys.executable
    if tool in PEER_OF:
        sys.path.insert(0, str(HERE))
        from bench_monitor import peer_python

        found = peer_python(PEER_OF[tool])
        if found is None:
            return None
        python = found
    done = subprocess.run(
        [str(python), __file__, "--worker", tool, "--plan", json.dumps(plan)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(HERE.parent)} if tool.startswith("mlops_kit") else None,
    )
    if done.returncode:
        print(f"[skip] {tool}: {done.stderr.strip().splitlines()[-1:]}", flush=True)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(results: dict[str, dict[str, list[float]]], plan: list[tuple[str, str, int]]) -> str:
    tools = list(results)
    head = "| cell | n | reps | " + " | ".join(f"{t} FA / power" for t in tools) + " |"
    lines = [head, "|" + "---|" * (3 + len(tools))]
    for cell, size, reps in plan:
        key = f"{cell}|{size}"
        exact = results.get("scipy exact", {}).get(key, [None, None])[1]
        cells = []
        for t in tools:
            if key not in results[t]:
                cells.append("not run")
                continue
            fa, power, _ = results[t][key]
            if fa < 0 or power < 0:
                cells.append("raises")
                continue
            mark = " **!**" if fa > 1.5 * ALPHA or (exact and power == power and power < 0.9 * exact) else ""
            cells.append(f"{fa:.0%} / {'-' if power != power else f'{power:.0%}'}{mark}")
        lines.append(f"| {cell} | {size} | {reps} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a quarter of the repetitions, no 1M-row cell")
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every repetition count")
    parser.add_argument("--peer-scale", type=float, default=0.25, help="the peers' share of the repetitions")
    parser.add_argument(
        "--peer-sizes",
        default="100,1k,10k",
        help="the sizes the peers run (the 1M-row cell takes them minutes per check)",
    )
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated, of: " + ", ".join(TOOLS))
    parser.add_argument("--cells", help="comma-separated cells to run (default: every cell)")
    parser.add_argument("--worker")
    parser.add_argument("--plan")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, [tuple(p) for p in json.loads(args.plan)])))
        return
    plan = plan_for(args.quick, args.scale)
    if args.cells:
        plan = [p for p in plan if p[0] in args.cells.split(",")]
    results = {}
    for tool in args.tools.split(","):
        if tool in PEER_OF and args.skip_peers:
            continue
        tool_plan = (
            plan if tool not in PEER_OF else [(c, s, max(3, int(r * args.peer_scale))) for c, s, r in plan]
        )
        print(f"[run] {tool} ...", flush=True)
        found = run_tool(tool, tool_plan)
        if found is not None:
            results[tool] = found
            print(f"[done] {tool} in {sum(v[2] for v in found.values()):.0f} s", flush=True)
    print(
        f"\nalpha {ALPHA}; FA = false-alarm rate (no drift), power = alarm rate under drift; "
        "**!** marks FA > 1.5 alpha or power < 0.9x the exact test's. Peers ran "
        f"{args.peer_scale:g}x the repetitions.\n"
    )
    print(table(results, plan))


if __name__ == "__main__":
    main()
