# %% [markdown]
# # A walkthrough of mlops_kit
#
# Data -> pipeline -> registry -> deployment -> monitoring, one cell per block. Each
# `# %%` line starts a cell: open this file in VS Code, PyCharm or Jupyter (with
# jupytext) and run the cells one by one, or run it as a script:
# `python examples/walkthrough.py`. Everything is stored in a temporary folder, deleted
# at the end; use `mk.storage()` (./.mlops) or a bucket URL to keep it.

# %%
from __future__ import annotations

import tempfile

import numpy as np
import pandas as pd

import mlops_kit as mk

workdir = tempfile.TemporaryDirectory(prefix="mlops-kit-walkthrough-")
store = mk.storage(workdir.name)
print(f"storage: {store.url}")


def customers(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """Synthetic customers; ``shift`` moves ages and spending, as a new market would."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n) + int(shift * 10)
    spend = rng.gamma(2.0, 30.0, n) * (1 + shift)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3, 0.1])
    risk = 1 / (1 + np.exp((spend - 45) / 12)) + 0.1 * (plan == "basic")
    return pd.DataFrame({"age": age, "spend": spend, "plan": plan, "churned": rng.random(n) < risk})


# %% [markdown]
# ## 1. Data: an immutable, fingerprinted version
#
# `Dataset.save` stores the frame as Parquet with a content fingerprint, a schema and
# a profile. Saving identical content again returns the same version.

# %%
january = customers(4_000, seed=1)
dataset = mk.Dataset("customers", storage=store)
v1 = dataset.save(january, tags={"source": "crm"}, description="January export")
print(f"{v1}: {v1.n_rows:,} rows, fingerprint {v1.fingerprint[:12]}, by {v1.created_by}")
print(f"saving the same rows again gives {dataset.save(january.copy())}")
for name, column in v1.schema.columns.items():
    print(f"  {name:8} {column.dtype:9} nullable={column.nullable}")

# %% [markdown]
# ## 2. Pipeline: plain functions, a recorded run, a cache
#
# The graph comes from parameter names: `model` takes `X_train`, which `split` returns.

# %%
FEATURES = ["age", "spend", "plan"]


@mk.step(outputs=("X_train", "X_test", "y_train", "y_test"))
def split(customers: pd.DataFrame, test_size: float = 0.25):
    from sklearn.model_selection import train_test_split

    return train_test_split(customers[FEATURES], customers["churned"], test_size=test_size, random_state=0)


@mk.step
def model(X_train: pd.DataFrame, y_train: pd.Series, C: float = 1.0):
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["plan"]), (StandardScaler(), ["age", "spend"])
    )
    return make_pipeline(encode, LogisticRegression(C=C)).fit(X_train, y_train)  # takes raw columns


@mk.step
def auc(model, X_test: pd.DataFrame, y_test: pd.Series) -> float:
    from sklearn.metrics import roc_auc_score

    score = float(roc_auc_score(y_test, model.predict_proba(X_test)[:, 1]))
    mk.log_metric("auc", score)
    return score


pipe = mk.Pipeline([split, model, auc], name="churn-train")
print(pipe.describe())
for C in (0.01, 1.0):
    run = pipe.run(inputs={"customers": january}, params={"C": C}, storage=store, progress=False)
    ran = [s.name for s in run.steps if not s.cache_hit]
    print(f"run C={C}: {run.status}, auc {run.metrics['auc']:.3f}, steps computed: {ran}")
print(pipe.runs(storage=store).to_frame()[["status", "params.C", "metrics.auc", "cached_steps"]].to_string())

# %% [markdown]
# ## 3. Registry: versions with lineage, an alias for production

# %%
registry = mk.Registry(store)
best_run = max(pipe.runs(storage=store), key=lambda r: r.metrics["auc"])
mv = registry.register(
    "churn",
    best_run.outputs["model"],  # loaded back from the run's stored output
    metrics=best_run.metrics,
    params=dict(best_run.params),
    dataset=v1,
    run=best_run,
    input_example=january[FEATURES].head(5),
)
registry.set_alias("churn", "production", mv.version)
print(f"registered {mv.ref} ({mv.model_class}), trained on {mv.dataset} by run {mv.run}")
print(f"signature: {mv.signature.inputs.names} -> {mv.signature.outputs.names}")
print(f"aliases: {registry.aliases('churn')}")

# %% [markdown]
# ## 4. Deploy in-process: an endpoint that validates its input and logs predictions

# %%
deployer = mk.LocalDeployer(registry)
endpoint = deployer.deploy("churn@production", endpoint="churn")
rows = customers(5, seed=7)[FEATURES]
print(f"endpoint {endpoint.name!r} serves {endpoint.version}")
print(f"churn risk of 5 customers: {endpoint.predict_proba(rows)[:, 1].round(2).tolist()}")
try:
    endpoint.predict({"age": 30})  # a request without the model's other columns
except mk.SchemaError as exc:
    print(f"bad request refused: {str(exc).splitlines()[0]}")

# %% [markdown]
# ## 5. Monitor: has the data moved since January?

# %%
monitor = mk.Monitor(v1, columns=FEATURES, name="churn", storage=store)
print(monitor.check(customers(3_000, seed=2)).summary().splitlines()[0])  # February: same market
shifted = customers(3_000, seed=3, shift=0.5)  # March: an older, bigger-spending market
report = monitor.check(shifted)
print(report.summary())
print(f"drifted columns: {report.drifted_columns}; reports stored: {len(monitor.reports())}")

# %%
endpoint.close()
workdir.cleanup()
