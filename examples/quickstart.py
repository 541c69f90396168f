"""Quickstart: version, validate and load a dataset on the default local storage (./.mlops).

Run it twice: the second run finds identical content and reuses the stored version.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import mlops_kit as mk
from mlops_kit.core.storage import MissingExtraError


def make_customers(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "monthly_spend": rng.gamma(2.0, 30.0, n) + shift,
            "plan": pd.Categorical(rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3, 0.1])),
            "signup": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 365, n), "D"),
            "churned": rng.random(n) < 0.2,
        }
    )


def main() -> None:
    store = mk.storage()  # $MLOPS_KIT_STORAGE, else the local folder ./.mlops
    customers = mk.Dataset("customers", storage=store)

    v1 = customers.save(make_customers(5_000, seed=1), tags={"source": "crm"}, description="January export")
    print(f"saved {v1}: {v1.n_rows:,} rows, fingerprint {v1.fingerprint[:12]}")

    again = customers.save(make_customers(5_000, seed=1))
    print(f"saving identical content returns {again} (no duplicate)")

    february = make_customers(5_000, seed=2, shift=5.0)
    report = v1.schema.validate(february)
    print(f"February vs the January schema: {'ok' if report.ok else report}")
    v2 = customers.save(february, tags={"source": "crm"}, parents=[v1], description="February export")
    print(f"saved {v2} with parent {v2.parents[0]}")

    spend = v2.profile.columns["monthly_spend"]
    print(f"monthly_spend in {v2}: mean {spend.mean:.1f}, std {spend.std:.1f}, median ~{spend.quantile(0.5):.1f}")

    loaded = customers.load(version=v1.version)
    print(f"loaded {v1} back: {loaded.shape[0]:,} rows, dtypes {dict(loaded.dtypes.astype(str))}")
    print(f"versions in {store.url}: {[str(v) for v in customers.versions()]}")

    # Monitoring: do February's inputs still look like January's? Written to drift.html.
    monitor = mk.Monitor(v1, columns=["age", "monthly_spend", "plan", "churned"], storage=store)
    drift = monitor.check(february)
    print(drift.summary())
    try:
        drift.to_html("drift.html")
        print("wrote drift.html (open it in a browser)")
    except MissingExtraError as exc:  # the charts need matplotlib: pip install 'mlops-kit[report]'
        print(exc)


if __name__ == "__main__":
    main()
