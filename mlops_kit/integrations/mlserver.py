"""Registry models on MLServer: a custom runtime, and the settings that run it.

``RegistryRuntime`` (imported from here, it needs ``pip install 'mlops-kit[mlserver]'``)
is an ``mlserver.MLModel`` that serves one registry version. Its ``model-settings.json``
says where from::

    {"name": "churn", "implementation": "mlops_kit.integrations.mlserver.RegistryRuntime",
     "parameters": {"uri": "s3://bucket/mlops",
                    "extra": {"ref": "churn@production", "endpoint": "churn"}}}

- ``parameters.uri``: the store's URL; credentials stay in the environment
  (``AWS_*``, ...) and non-secret fsspec options go in ``extra.storage_options``.
- ``extra.ref``: ``name@alias`` (followed: the alias is read every
  ``extra.poll_interval`` seconds, default 5, and the version it points to is loaded
  and swapped in) or ``name:version`` (pinned).
- ``extra.endpoint`` (default: the model's name): whose prediction log and request
  counts the traffic goes to, the same ones :meth:`LocalDeployer.predictions`,
  :meth:`LocalDeployer.status` and the Monitor read; flushed every
  ``extra.flush_interval`` seconds (default 5) and when the model is unloaded.
  ``extra.log_predictions: false`` keeps the counts only.
- ``extra.trusted``: types a ``skops`` artifact may hold beyond skops' defaults.

Every load checks the stored bytes against the registry's record first
(:meth:`Registry.verify`), so a tampered artifact is refused with an
:class:`~mlops_kit.IntegrityError` before anything is unpickled, then predicts on the
input example (the same health check as our own servers). Inputs are decoded with
MLServer's codecs: a request with ``content_type: pd`` or one tensor per column (by
the signature's names), or one ``[rows, columns]`` tensor in the signature's order;
they are checked against the signature (a mismatch is a 400 naming the columns).
A request of plain columns (the signature's, in order, typed as its kinds, values a
JSON client writes) skips pandas' codec: its table, the same one, is made at once.
Outputs are ``predict`` (the default) and ``predict_proba``, as with MLServer's
scikit-learn runtime. ``mlops-kit export mlserver ENDPOINT --out DIR`` writes the
settings of an endpoint's versions.

Examples
--------
>>> from mlops_kit.integrations.mlserver import model_settings
>>> settings = model_settings("churn", store="s3://bucket/mlops", ref="churn@production")
>>> settings["implementation"], settings["parameters"]["extra"]["endpoint"]
('mlops_kit.integrations.mlserver.RegistryRuntime', 'churn')
"""

from __future__ import annotations

from typing import Any

__all__ = ["RUNTIME", "RegistryRuntime", "model_settings", "server_settings"]  # noqa: F822  # RegistryRuntime: made by __getattr__

RUNTIME = "mlops_kit.integrations.mlserver.RegistryRuntime"


def model_settings(
    name: str,
    *,
    store: str,
    ref: str,
    endpoint: str | None = None,
    poll_interval: float = 5.0,
    flush_interval: float = 5.0,
) -> dict[str, Any]:
    """The ``model-settings.json`` of an MLServer model ``name`` serving ``ref`` from ``store``.

    Parameters
    ----------
    name : str
        The model's name on MLServer (``/v2/models/<name>/infer``).
    store : str
        The store's URL (no credentials: they stay in the environment).
    ref : str
        ``name@alias`` (followed) or ``name:version``.
    endpoint : str, optional
        Whose prediction log and counts the traffic goes to (default: the model's name).
    poll_interval, flush_interval : float
        Seconds between two reads of the alias, and between two flushes.
    """
    from mlops_kit.core.refs import parse_ref

    return {
        "name": name,
        "implementation": RUNTIME,
        "parameters": {
            "uri": store,
            "extra": {
                "ref": ref,
                "endpoint": endpoint or parse_ref(ref).name,
                "poll_interval": poll_interval,
                "flush_interval": flush_interval,
            },
        },
    }


def server_settings(
    *,
    host: str = "0.0.0.0",
    http_port: int = 8080,
    grpc_port: int = 8081,
    metrics_port: int | None = 8082,
    parallel_workers: int = 0,
) -> dict[str, Any]:
    """The ``settings.json`` of the server: where it listens, and inference in its own process by default.

    With ``parallel_workers=0`` the model runs in MLServer's process; with more, each
    worker process loads it and writes its own batches to the same log.
    ``metrics_port=None`` turns MLServer's own metrics server off.
    """
    settings: dict[str, Any] = {
        "host": host,
        "http_port": http_port,
        "grpc_port": grpc_port,
        "parallel_workers": parallel_workers,
    }
    if metrics_port is None:
        settings["metrics_endpoint"] = None
    else:
        settings["metrics_port"] = metrics_port
    return settings


def __getattr__(name: str) -> Any:
    if name == "RegistryRuntime":
        from mlops_kit.integrations._mlserver_runtime import runtime_class

        return runtime_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
