"""``Monitor``: data drift, prediction drift and performance decay against a reference."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mlops_kit.core.arguments import StorageLike, check_storage
from mlops_kit.core.clock import SYSTEM_CLOCK, Clock
from mlops_kit.core.errors import ConfigError, SchemaError
from mlops_kit.core.listing import NameList
from mlops_kit.core.names import check_name
from mlops_kit.core.profile import Profile, category_counts
from mlops_kit.core.storage import LogEntry, Storage, resolve_storage
from mlops_kit.core.storage.catalog import Catalog
from mlops_kit.core.storage.logs import read_named_page
from mlops_kit.monitor import _config, _performance, _tracking
from mlops_kit.monitor._assemble import Batch, assemble
from mlops_kit.monitor._calibration import Calibrator, check_calibrate
from mlops_kit.monitor._columns import Role
from mlops_kit.monitor._estimation import EstimatedPerformance
from mlops_kit.monitor._evaluate import Pending, evaluate
from mlops_kit.monitor._history import ReportList
from mlops_kit.monitor._methods import DriftMethod
from mlops_kit.monitor._multivariate import MultivariateDrift, check_multivariate, multivariate_drift
from mlops_kit.monitor._pair import ColumnPair
from mlops_kit.monitor._performance import Performance
from mlops_kit.monitor._report import DriftReport
from mlops_kit.monitor._sources import Current, Reference

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit.monitor._windows import WindowedReport

__all__ = ["Monitor"]

_PREFIX = "monitors"
_JOINT_ROWS = 5_000  # rows of each side the multivariate detectors see
_KINDS = {"int": "number", "float": "number", "string": "text", "category": "text"}


class Monitor:
    """Watch data for drift, and a model for prediction drift and performance decay.

    Parameters
    ----------
    reference : DatasetVersion, pandas.DataFrame or Profile
        What "normal" looks like. A :class:`~mlops_kit.DatasetVersion` is compared through
        its stored profile; its raw data is loaded (once, from ``storage``, by default
        from the storage the version was saved to or read from) only for methods that need it (exact KS on small samples, Anderson-Darling, energy).
    columns : list of str, optional
        The feature columns to watch; by default every reference column except the
        target and the prediction.
    method : str, DriftMethod or dict, default "auto"
        ``"auto"``, a method name (``"ks"``, ``"wasserstein"``, ``"psi"``,
        ``"jensenshannon"``, ``"anderson"``, ``"energy"``, ``"chisquare"``, ``"ztest"``),
        a :class:`DriftMethod`, or a dict of per-column overrides (others stay auto).
        ``auto`` tests up to 1,000 values (KS, z-test, chi-square; p < 0.05) and
        measures effect sizes above (Wasserstein in reference stds, Jensen-Shannon; >= 0.1).
    threshold : float or dict, optional
        The decision threshold; a dict may map columns or method names to thresholds.
        Defaults per method (0.05 for p-values, 0.1 for distances).
    correction : {None, "bonferroni", "fdr_bh"}
        Multiple-testing correction of the p-values of one check (across columns, and
        across windows in :meth:`check_windows`).
    drift_share : float, default 0.5
        Dataset drift when at least this share of the feature columns drifted.
    target, prediction : str, optional
        The label and model-output columns. Both must be in the reference. The prediction
        is watched for drift; with the target in the current data, performance is
        measured and compared with the reference's own.
    name : str, optional
        With a name, every report is appended to a log in ``storage`` and
        :meth:`history` returns the time series.
    storage : Storage or str, optional
        Where the history lives and where a ``DatasetVersion`` reference is loaded
        from; default ``$MLOPS_KIT_STORAGE`` or ``./.mlops``.
    task : {None, "classification", "regression"}
        The model's task, inferred from the target's type by default.
    tolerance : float, default 0.05
        How much worse than the reference a metric may get before it counts as decay.
    unseen_threshold : float, default 0.01
        A column drifts when categories never seen in the reference hold this share of
        its current values beyond what the reference predicts (significantly).
    min_effect : float or dict, optional
        The effect size a distribution change must also reach to drift (Wasserstein in
        reference stds for numeric columns, Cohen's w for categorical ones), and a null-rate
        change (Cohen's h); a dict maps columns to values. By default 0.1 for auto's
        categorical tests and for null rates, none for explicitly chosen tests.
    multivariate : bool, str or list of str, default False
        Also look for drift in how the columns relate, which no per-column test sees:
        ``"domain_classifier"`` (a classifier told to separate reference from current
        rows; held-out ROC AUC, Mann-Whitney p-value), ``"pca_reconstruction"`` (PCA
        reconstruction error, z-test against the reference's own), or ``True`` for both.
        Needs raw reference rows (a DataFrame or DatasetVersion); each side is sampled to
        at most 5,000 rows. Results are in ``report.multivariate``.
    calibrate : bool or int, default False
        Derive each distance's threshold from the reference itself: the (1 - 0.05)
        quantile of the statistic between bootstrap resamples of the reference of the
        current sample's size (``True``: 100 resamples; an int: that many), never below
        the minimum effect (``min_effect``, else the method's threshold). The false-alarm
        rate is then about 5% at any size, cardinality and shape, and a negligible change
        still never alarms. Tests (KS, chi-square, ...) keep their exact p-values. Needs
        raw reference rows; thresholds are cached per column and size (within 10%).
    clock : Clock, optional
        Time source for report timestamps.
    estimate_performance : bool, default False
        Estimate the model's performance on every check, labels or not: CBPE for
        classifiers with probability scores, DLE for regression, both fitted on the labelled
        reference (``report.estimated_performance``). A window without labels is flagged
        with reason ``"estimated performance decay"`` when the estimate decayed.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import mlops_kit as mk
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"age": rng.normal(40, 10, 20_000), "plan": rng.choice(["a", "b"], 20_000)})
    >>> v = mk.Dataset("customers", storage=mk.MemoryStorage()).save(ref)
    >>> mon = mk.Monitor(v)
    >>> alerts = []
    >>> _ = mon.on_drift(alerts.append)
    >>> mon.check(ref.assign(age=ref.age + 0.1)).drifted      # 0.01 std: not drift
    False
    >>> rep = mon.check(ref.assign(age=ref.age + 5.0))        # 0.5 std: drift
    >>> rep.drifted_columns, rep.columns["age"].method, round(rep.columns["age"].statistic, 2)
    (['age'], 'wasserstein', 0.5)
    >>> len(alerts)
    1
    """

    REPORTS_ROOT = _PREFIX
    """Where a named monitor keeps its reports: ``<REPORTS_ROOT>/<name>/reports``."""

    def __init__(
        self,
        reference: Any,
        *,
        columns: Sequence[str] | None = None,
        method: str | DriftMethod | Mapping[str, str | DriftMethod] = "auto",
        threshold: float | Mapping[str, float] | None = None,
        correction: str | None = None,
        drift_share: float = 0.5,
        target: str | None = None,
        prediction: str | None = None,
        name: str | None = None,
        storage: StorageLike = None,
        task: str | None = None,
        tolerance: float = 0.05,
        unseen_threshold: float = 0.01,
        multivariate: bool | str | Sequence[str] = False,
        calibrate: bool | int = False,
        clock: Clock | None = None,
        min_effect: float | Mapping[str, float] | None = None,
        estimate_performance: bool = False,
    ) -> None:
        self.name = None if name is None else check_name(name, "monitor name")
        self.storage = check_storage(storage)  # opened on first use
        self.correction = _config.check_correction(correction)
        self.drift_share = _config.check_fraction(drift_share, "drift_share")
        self.tolerance = _config.check_fraction(tolerance, "tolerance", zero=True)
        self.unseen_threshold = _config.check_fraction(unseen_threshold, "unseen_threshold")
        self.target, self.prediction = target, prediction
        self.clock = clock or SYSTEM_CLOCK
        self.reference = reference
        wanted = None if columns is None else [*columns, *(c for c in (target, prediction) if c)]
        self._reference = Reference(reference, self._storage, wanted, prefer_origin=storage is None)
        profile = self._reference.profile
        self.columns = _config.resolve_columns(profile, columns, target, prediction, self._reference.names)
        self._roles: dict[str, Role] = dict.fromkeys(self.columns, "feature")
        if prediction is not None:
            self._roles[prediction] = "prediction"
        if target is not None:
            self._roles[target] = "target"
        self._methods = _config.resolve_methods(method, profile, list(self._roles))
        self._thresholds = _config.resolve_thresholds(threshold, self._methods)
        self._min_effect = _config.resolve_min_effect(min_effect, list(self._roles))
        self.method, self.threshold, self.min_effect = method, threshold, min_effect
        needs_raw = {c: m.name for c, m in self._methods.items() if m is not None and m.requires_values}
        if needs_raw and not self._reference.has_raw:
            raise ConfigError(
                f"Methods {sorted(set(needs_raw.values()))} (columns {list(needs_raw)}) need raw "
                "reference values, but the reference is a Profile. Pass a DataFrame or DatasetVersion."
            )
        self.multivariate = multivariate
        self._multivariate = check_multivariate(multivariate)
        self.calibrate = calibrate
        resamples = check_calibrate(calibrate)
        if resamples and not self._reference.has_raw:
            raise ConfigError(
                "calibrate= needs raw reference rows, but the reference is a Profile. "
                "Pass a DataFrame or DatasetVersion."
            )
        self._calibrator = (
            Calibrator(lambda name: self._reference.frame(list(self._roles))[name], resamples=resamples)
            if resamples
            else None
        )
        if self._multivariate and not self._reference.has_raw:
            raise ConfigError(
                "multivariate= needs raw reference rows, but the reference is a Profile. "
                "Pass a DataFrame or DatasetVersion."
            )
        self.task = _performance.check_task(task)
        if target is not None:
            self.task = self.task or _performance.infer_task(profile.columns[target])
            if prediction is not None:
                _performance.check_pair_types(
                    self.task, profile.columns[target], profile.columns[prediction], (target, prediction)
                )
        self._callbacks: list[Callable[[DriftReport], Any]] = []
        self.estimate_performance = estimate_performance
        self._tracker = _tracking.tracker(
            self.task,
            target,
            prediction,
            self._reference,
            list(self._roles),
            features=[c for c in self.columns if c not in (target, prediction)],
            tolerance=self.tolerance,
            estimate=estimate_performance,
        )
        self.last_report: DriftReport | None = None

    def __repr__(self) -> str:
        name = f", name={self.name!r}" if self.name else ""
        return f"Monitor(reference={self._reference.label!r}, columns={len(self.columns)}{name})"

    def _storage(self) -> Storage:
        if not isinstance(self.storage, Storage):
            self.storage = resolve_storage(self.storage)
        return self.storage

    # -- checking ----------------------------------------------------------------------

    def check(self, current: Any) -> DriftReport:
        """Compare ``current`` with the reference and return a :class:`DriftReport`.

        Parameters
        ----------
        current : pandas.DataFrame, dask.dataframe.DataFrame or pyarrow.dataset.Dataset
            The new data. It must hold every monitored column (the target may be
            missing: labels often arrive later). Other columns are ignored and listed
            in ``report.ignored_columns``. A Dask frame is profiled per partition, a
            pyarrow dataset (``Dataset.to_arrow()``) batch by batch, then merged.

        Raises
        ------
        SchemaError
            If the data is empty, misses monitored columns, or a column's type differs
            from the reference's (the message names the columns).
        """
        data = Current(current)
        pending, n_rows, perf, estimated = self._evaluate(data, self.columns)
        joint = self._joint(data, self.columns)
        batch = Batch(pending, n_rows, perf, estimated=estimated, multivariate=joint)
        (report,) = self._decide([batch], data.columns)
        self._publish([report])
        return report

    def check_windows(self, df: pd.DataFrame, *, time_column: str, freq: str = "1D") -> WindowedReport:
        """Check each time window of ``df`` (``freq`` as in pandas, e.g. ``"1D"``, ``"6h"``).

        The time column is not monitored itself. With a correction, p-values are
        corrected across every column of every window.

        Returns
        -------
        WindowedReport
            One :class:`DriftReport` per non-empty window, and ``scores``, a time
            series of effect sizes.
        """
        from mlops_kit.monitor._windows import WindowedReport, split_windows

        data = Current(df)
        if data.dask:
            raise ConfigError(
                "check_windows needs a pandas DataFrame; call .compute() on the Dask frame first."
            )
        features = [c for c in self.columns if c != time_column]
        batches = []
        for start, end, part in split_windows(data.data, time_column, freq):
            window = Current(part)
            pending, n_rows, perf, estimated = self._evaluate(window, features)
            joint = self._joint(window, features)
            batches.append(Batch(pending, n_rows, perf, start, end, estimated, joint))
        reports = self._decide(batches, data.columns)
        self._publish(reports)
        return WindowedReport(reports=tuple(reports), time_column=time_column, freq=freq)

    def _evaluate(
        self, data: Current, features: Sequence[str]
    ) -> tuple[list[Pending], int, Performance | None, EstimatedPerformance | None]:
        roles = {c: r for c, r in self._roles.items() if r != "feature" or c in features}
        if self.target is not None and self.target not in data.columns:
            del roles[self.target]  # labels not there yet
        missing = [c for c in roles if c not in data.columns]
        if missing:
            raise SchemaError(
                f"The current data is missing monitored columns {missing}; it has {data.columns[:20]}."
            )
        profile = data.profile(list(roles), against=self._reference.profile)
        if not profile.n_rows:
            raise SchemaError("The current data is empty; a drift check needs at least one row.")
        self._check_types(profile, roles)
        pending = [self._pending(name, role, data, profile) for name, role in roles.items()]
        perf = self._performance(data) if self.target in roles and self.prediction else None
        estimated = self._tracker.estimated(data) if self._tracker is not None else None
        return pending, profile.n_rows, perf, estimated

    def _joint(self, data: Current, features: Sequence[str]) -> tuple[MultivariateDrift, ...]:
        """The multivariate detectors' verdicts on the feature columns (none unless asked for)."""
        if not self._multivariate:
            return ()
        names = [c for c in features if self._roles.get(c) == "feature"]
        reference = self._reference.frame(list(self._roles))
        return multivariate_drift(
            reference, data.sample(names, _JOINT_ROWS), names, methods=self._multivariate
        )

    def _check_types(self, profile: Profile, columns: Mapping[str, Role]) -> None:
        bad = []
        for name in columns:
            ref, cur = self._reference.column(name).dtype, profile.columns[name].dtype
            if _KINDS.get(ref, ref) != _KINDS.get(cur, cur):
                bad.append(f"{name!r}: reference {ref}, current {cur}")
        if bad:
            raise SchemaError(
                f"Column types differ from the reference: {'; '.join(bad)}. Convert the current "
                "data to the reference types, or leave these columns out with columns=[...]."
            )

    def _pending(self, name: str, role: Role, data: Current, profile: Profile) -> Pending:
        ref, cur = self._reference.column(name), profile.columns[name]
        method = self._methods[name]
        ref_values = cur_values = None
        if ref.kind == "numeric":
            if self._reference.has_raw:
                ref_values = lambda: self._reference.values(name, list(self._roles))  # noqa: E731
            # Pulling a Dask column to the client is only worth it for methods that require raw data.
            if not data.dask or (method is not None and method.requires_values):
                cur_values = lambda: data.values(name, cur.dtype)  # noqa: E731
        counts = None
        if ref.kind == "categorical" and (ref.other or cur.other) and self._reference.has_raw:
            counts = lambda: (  # noqa: E731
                category_counts(self._reference.frame(list(self._roles))[name]),
                data.category_counts(name),
            )
        pair = ColumnPair(name, ref, cur, ref_values, cur_values, counts)
        return evaluate(
            pair,
            role=role,
            method=method,
            threshold=self._thresholds[name],
            unseen_threshold=self.unseen_threshold,
            min_effect=self._min_effect[name],
            calibrator=self._calibrator,
        )

    def _performance(self, data: Current) -> Performance:
        assert self._tracker is not None
        return self._tracker.realized(data)

    def _decide(self, batches: Sequence[Batch], current_columns: Sequence[str]) -> list[DriftReport]:
        return assemble(
            batches,
            correction=self.correction,
            drift_share=self.drift_share,
            prediction=self.prediction,
            target=self.target,
            monitor=self.name,
            reference=self._reference.label,
            created_at=self.clock.now(),
            n_reference=self._reference.profile.n_rows,
            ignored_columns=tuple(c for c in current_columns if c not in self._roles),
        )

    def with_reference(self, reference: Any) -> Monitor:
        """A monitor like this one (columns, methods, thresholds, alerts, history) on a new reference.

        Used when a model retrained on newer data goes to production: drift is then
        measured against what the serving model learned from.

        Examples
        --------
        >>> import pandas as pd
        >>> mon = Monitor(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), drift_share=0.3)
        >>> newer = mon.with_reference(pd.DataFrame({"x": [5.0, 6.0, 7.0], "label": [0, 1, 0]}))
        >>> newer.columns, newer.drift_share
        (['x'], 0.3)
        """
        features = [c for c in self.columns if c not in (self.target, self.prediction)]
        other = Monitor(
            reference,
            columns=features,
            method=self.method,
            threshold=self.threshold,
            correction=self.correction,
            drift_share=self.drift_share,
            target=self.target,
            prediction=self.prediction,
            name=self.name,
            storage=self.storage,
            task=self.task,
            tolerance=self.tolerance,
            unseen_threshold=self.unseen_threshold,
            multivariate=self.multivariate,
            calibrate=self.calibrate,
            clock=self.clock,
            min_effect=self.min_effect,
            estimate_performance=self.estimate_performance,
        )
        other._callbacks = list(self._callbacks)
        return other

    # -- alerts and history -----------------------------------------------------------

    def on_drift(self, callback: Callable[[DriftReport], Any]) -> Callable[[DriftReport], Any]:
        """Call ``callback(report)`` after each check whose report has ``drifted``.

        Returns the callback, so this works as a decorator. Callbacks run in the
        order added, after the report is stored; an exception in one propagates.
        """
        if not callable(callback):
            raise ConfigError(f"on_drift needs a callable, got {callback!r}.")
        self._callbacks.append(callback)
        return callback

    def _publish(self, reports: Sequence[DriftReport]) -> None:
        if self.name is not None:
            storage = self._storage()
            catalog, log = Catalog(storage, _PREFIX, "reports"), self._log
            for report in reports:
                catalog.add(self.name, functools.partial(storage.append, log, report))
        if reports:
            self.last_report = reports[-1]
        for report in reports:
            if report.drifted:
                for callback in self._callbacks:
                    callback(report)

    @property
    def _log(self) -> str:
        return f"{_PREFIX}/{self.name}/reports"

    @staticmethod
    def names(storage: StorageLike = None) -> NameList:
        """The named monitors that stored a report in ``storage``, sorted.

        Examples
        --------
        >>> import mlops_kit as mk, pandas as pd
        >>> store = mk.MemoryStorage()
        >>> ref = pd.DataFrame({"x": range(100)})
        >>> _ = mk.Monitor(ref, name="churn", storage=store).check(ref)
        >>> list(mk.Monitor.names(store))
        ['churn']
        """
        return NameList(Catalog(resolve_storage(check_storage(storage)), _PREFIX, "reports").names())

    @staticmethod
    def stored_reports(
        storage: StorageLike,
        name: str,
        *,
        limit: int | None = None,
        offset: int = 0,
        newest_first: bool = False,
    ) -> ReportList:
        """A page of the reports the monitor ``name`` stored, without building the monitor.

        For readers that have the store but not the reference (the UI, a dashboard).

        Raises
        ------
        NotFoundError
            If no monitor of that name stored a report.

        Examples
        --------
        >>> import mlops_kit as mk, pandas as pd
        >>> store = mk.MemoryStorage()
        >>> ref = pd.DataFrame({"x": range(100)})
        >>> mon = mk.Monitor(ref, name="churn", storage=store)
        >>> _ = mon.check(ref), mon.check(ref + 50)
        >>> [r.drifted for r in mk.Monitor.stored_reports(store, "churn", newest_first=True)]
        [True, False]
        """
        name = check_name(name, "monitor name")
        store = resolve_storage(check_storage(storage))
        missing = f"No monitor named {name!r} stored a report in {store.url}."
        page = read_named_page(
            store, f"{_PREFIX}/{name}/reports", DriftReport, limit=limit, offset=offset,
            newest_first=newest_first, missing=missing,
        )  # fmt: skip
        return ReportList((e.record for e in page), [e.seq for e in page])

    def reports(self) -> ReportList:
        """Every stored report of this monitor, oldest first (needs ``name=``); same as :meth:`history`."""
        return self.history()

    def _entries(self) -> list[LogEntry[DriftReport]]:
        if self.name is None:
            raise ConfigError("This monitor has no name, so it keeps no history; create it with name='...'.")
        return self._storage().read_log(self._log, DriftReport)

    def history(self) -> ReportList:
        """Every stored report of this monitor, oldest first (needs ``name=``).

        As in every block, ``history()`` is the log of what happened; ``.to_frame()`` is
        the drift time series (one row per report and column: ``seq``, ``created_at``,
        ``window_start``, ``window_end``, ``column``, ``method``, ``statistic``,
        ``p_value``, ``effect_size``, ``drifted``, ``drift_share``, ``dataset_drifted``).
        Pivot it for a wide view: ``history().to_frame().pivot(index="created_at",
        columns="column", values="effect_size")``.
        """
        entries = self._entries()
        return ReportList([e.record for e in entries], [e.seq for e in entries])

    def performance_history(self) -> pd.DataFrame:
        """Performance over time: one row per stored report and metric (needs ``name=``).

        Columns: ``seq``, ``created_at``, ``window_start``, ``window_end``, ``kind``
        (``"realized"`` on labels, ``"estimated"`` without), ``method`` (``"labels"``,
        ``"cbpe"``, ``"dle"``), ``metric``, ``value``, ``lower``, ``upper`` (the interval),
        ``reference``, ``p_value`` (of being worse than the reference), ``degraded``, ``decayed``.
        """
        return self.history().performance_frame()

    def to_prometheus(self, registry: Any = None) -> Any:
        """Export the latest report's scores as Prometheus gauges, refreshed at each scrape.

        Registers a collector on ``registry`` (a new private ``CollectorRegistry`` by
        default) and returns the registry.

        Raises
        ------
        MissingExtraError
            If prometheus-client is not installed (``pip install 'mlops-kit[serve]'``).
        """
        from mlops_kit.monitor._prometheus import register

        return register(lambda: [self.last_report] if self.last_report else [], registry)
