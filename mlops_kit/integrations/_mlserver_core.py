"""What our MLServer runtime does, without MLServer: options, loading, following an alias, recording.

Kept apart from the :class:`mlserver.MLModel` subclass so that it imports without
MLServer installed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlops_kit.core.errors import ConfigError
from mlops_kit.core.refs import parse_ref
from mlops_kit.deploy import Recorder, load_served

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit.deploy._served import Served

__all__ = ["Options", "Serving"]

_log = logging.getLogger("mlserver.mlops_kit")  # under MLServer's logger: printed the way it prints its own
_KNOWN = frozenset(
    {
        "storage",
        "ref",
        "endpoint",
        "poll_interval",
        "flush_interval",
        "log_predictions",
        "trusted",
        "storage_options",
    }
)


@dataclass(frozen=True)
class Options:
    """The runtime's options, from ``parameters.uri`` and ``parameters.extra`` of ``model-settings.json``."""

    storage: str
    ref: str
    endpoint: str
    poll_interval: float = 5.0
    flush_interval: float = 5.0
    log_predictions: bool = True
    trusted: tuple[str, ...] = ()
    storage_options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, uri: str | None, extra: Mapping[str, Any] | None, model: str) -> Options:
        """Read and check the options of MLServer model ``model``.

        Raises
        ------
        ConfigError
            Naming the missing or malformed option and what to write instead.
        """
        extra = dict(extra or {})
        unknown = sorted(set(extra) - _KNOWN)
        if unknown:
            raise ConfigError(
                f"model-settings.json of {model!r}: unknown parameters.extra {unknown}; "
                f"known: {sorted(_KNOWN)}."
            )
        # Two spellings: uri = the store, extra.ref = the model (mlops-kit export mlserver), or
        # extra.storage = the store, uri = the model (the KServe export's image).
        storage = extra.pop("storage", None)
        if storage and not extra.get("ref"):
            extra["ref"] = uri
        storage = storage or uri
        if not storage:
            raise ConfigError(
                f"model-settings.json of {model!r} names no store: set parameters.uri to its URL "
                "(for example s3://bucket/mlops); mlops-kit export mlserver writes it."
            )
        ref = extra.get("ref")
        if not isinstance(ref, str) or not ref:
            raise ConfigError(
                f"model-settings.json of {model!r} names no model: set parameters.extra.ref to "
                "'name@alias' or 'name:version'."
            )
        parse_ref(ref)  # InvalidNameError now rather than at the first request
        endpoint = extra.get("endpoint") or parse_ref(ref).name
        trusted = extra.get("trusted", ())
        if not isinstance(trusted, list | tuple) or not all(isinstance(t, str) for t in trusted):
            raise ConfigError(
                f"parameters.extra.trusted of {model!r} must be a list of 'module.Class' names."
            )
        numbers = {}
        for key in ("poll_interval", "flush_interval"):
            value = extra.get(key, 5.0)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(
                    f"parameters.extra.{key} of {model!r} must be a number of seconds > 0, got {value!r}."
                )
            numbers[key] = float(value)
        log_predictions = extra.get("log_predictions", True)
        if not isinstance(log_predictions, bool):
            raise ConfigError(f"parameters.extra.log_predictions of {model!r} must be true or false.")
        options = extra.get("storage_options", {})
        if not isinstance(options, dict):
            raise ConfigError(f"parameters.extra.storage_options of {model!r} must be an object.")
        return cls(
            storage=str(storage),
            ref=ref,
            endpoint=str(endpoint),
            log_predictions=log_predictions,
            trusted=tuple(trusted),
            storage_options=options,
            **numbers,
        )


class Serving:
    """A registry version loaded for MLServer: verified, followed when its alias moves, recorded.

    Parameters
    ----------
    options : Options
        Where the model comes from and where its traffic is recorded.
    """

    def __init__(self, options: Options) -> None:
        from mlops_kit.core.storage import storage
        from mlops_kit.registry import Registry

        self.options = options
        self.registry = Registry(storage(options.storage, **options.storage_options))
        self.follows = "@" in options.ref
        self.served: Served = self._load(options.ref)
        self.recorder = Recorder(
            self.registry.storage,
            options.endpoint,
            flush_interval=options.flush_interval,
            log_predictions=options.log_predictions,
        )
        self.recorder.served = self.served
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        if self.follows:
            self._thread = threading.Thread(target=self._follow, name="mlops-kit-mlserver-alias", daemon=True)
            self._thread.start()

    @property
    def label(self) -> str:
        """The version answering now, ``"name:version"``."""
        return self.served.label

    def _load(self, ref: str) -> Served:
        """Verify the stored bytes first (nothing is unpickled from a tampered store), then load."""
        mv = self.registry.verify(ref)
        return load_served(self.registry, mv, self.options.trusted)

    def check_alias(self) -> bool:
        """Load the version the alias points to now, if it moved; whether it did."""
        mv = self.registry.get(self.options.ref)
        if f"{mv.name}:{mv.version}" == self.served.label:
            return False
        served = self._load(mv.ref)
        self.served = served  # one reference assignment: requests in flight keep the old one
        self.recorder.served = served
        _log.info("%s now serves %s", self.options.ref, served.label)
        return True

    def _follow(self) -> None:
        while not self._stopping.wait(self.options.poll_interval):
            try:
                self.check_alias()
            except Exception as exc:  # keep serving the version we have; try again at the next poll
                _log.error(
                    "%s: could not load the version its alias points to now, still serving %s: %s: %s",
                    self.options.ref,
                    self.served.label,
                    type(exc).__name__,
                    exc,
                )

    def predict(
        self,
        served: Served,
        frame: pd.DataFrame | Mapping[str, list[Any]],
        methods: list[str],
        request_id: str | None,
    ) -> list[Any]:
        """The outputs of ``served``'s ``methods`` on ``frame``; the request counted and logged once.

        ``frame`` is a table, or columns that passed ``served.checker.plain`` (parsed
        lists): their table is made in the signature's types at once, and the log keeps
        the lists.

        Raises
        ------
        SchemaError
            The input does not fit the signature (counted as the client's error).
        ConfigError
            The model has no such method (counted as the client's error).
        ModelFailed
            The model raised (counted as an error).
        """
        from mlops_kit.core.errors import SchemaError
        from mlops_kit.deploy import ModelFailed

        start = time.perf_counter()
        # a DataFrame is no Mapping: a Mapping is plain columns
        rows = len(next(iter(frame.values()), ())) if isinstance(frame, Mapping) else len(frame)
        try:
            missing = [m for m in methods if not served.has(m)]
            if missing:
                raise ConfigError(
                    f"Model {served.label} ({served.mv.model_class}) has no {missing[0]} method."
                )
            if isinstance(frame, Mapping):
                inputs = served.checker.plain_frame(frame)
            else:
                inputs = served.checker.prepare(frame)
        except (SchemaError, ConfigError):
            self.recorder.failed(served.label, rows, client=True)
            raise
        try:
            outputs = [served.call(method, inputs) for method in methods]
        except ModelFailed:
            self.recorder.failed(served.label, rows, client=False)
            raise
        latency = (time.perf_counter() - start) * 1000.0
        self.recorder.record(
            served.label, frame, outputs[0], method=methods[0], latency_ms=latency, request_id=request_id
        )
        return outputs

    def close(self) -> None:
        """Stop following the alias and flush the log and counts."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.recorder.close()
