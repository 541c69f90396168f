"""Drift scores as Prometheus gauges, collected from the latest report at every scrape."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from mlops_kit.core.extras import require

if TYPE_CHECKING:
    from mlops_kit.monitor._report import DriftReport

__all__ = ["register"]


def register(reports: Callable[[], Sequence[DriftReport]], registry: Any = None) -> Any:
    """Register a collector that reads ``reports()`` on each scrape; return the registry."""
    client = require(
        "prometheus_client",
        extra="serve",
        purpose="Exporting drift scores to Prometheus",
        package="prometheus-client",
    )
    CollectorRegistry = client.CollectorRegistry
    registry = CollectorRegistry(auto_describe=True) if registry is None else registry
    registry.register(_DriftCollector(reports))
    return registry


class _DriftCollector:
    """A custom collector (no global state): gauges are built from the reports when scraped."""

    def __init__(self, reports: Callable[[], Sequence[DriftReport]]) -> None:
        self._reports = reports

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        col_labels = ["monitor", "column", "role", "method"]
        statistic = GaugeMetricFamily(
            "mlops_kit_drift_statistic", "Drift statistic of a column.", labels=col_labels
        )
        p_value = GaugeMetricFamily(
            "mlops_kit_drift_p_value", "P-value of a column's drift test.", labels=col_labels
        )
        effect = GaugeMetricFamily(
            "mlops_kit_drift_effect_size",
            "Effect size of a column's drift (Wasserstein in reference stds, or Jensen-Shannon).",
            labels=col_labels,
        )
        drifted = GaugeMetricFamily(
            "mlops_kit_drift_column_drifted", "1 if the column drifted.", labels=col_labels
        )
        nulls = GaugeMetricFamily(
            "mlops_kit_drift_null_rate", "Share of nulls in a column.", labels=["monitor", "column", "sample"]
        )
        share = GaugeMetricFamily(
            "mlops_kit_drift_share", "Share of feature columns that drifted.", labels=["monitor"]
        )
        detected = GaugeMetricFamily(
            "mlops_kit_drift_detected", "1 if the report flags drift.", labels=["monitor"]
        )
        checked = GaugeMetricFamily(
            "mlops_kit_drift_check_timestamp_seconds",
            "When the report was made (Unix time).",
            labels=["monitor"],
        )
        metric = GaugeMetricFamily(
            "mlops_kit_model_metric", "Model performance metric.", labels=["monitor", "metric", "sample"]
        )
        joint_labels = ["monitor", "method"]
        joint = GaugeMetricFamily(
            "mlops_kit_drift_multivariate_statistic",
            "Multivariate drift statistic (domain classifier AUC, or PCA reconstruction error).",
            labels=joint_labels,
        )
        joint_p = GaugeMetricFamily(
            "mlops_kit_drift_multivariate_p_value",
            "P-value of a multivariate drift test.",
            labels=joint_labels,
        )
        joint_drifted = GaugeMetricFamily(
            "mlops_kit_drift_multivariate_drifted",
            "1 if a multivariate detector flags drift.",
            labels=joint_labels,
        )
        perf_labels = ["monitor", "metric"]
        lower = GaugeMetricFamily(
            "mlops_kit_model_metric_lower", "Lower end of the current metric's interval.", labels=perf_labels
        )
        upper = GaugeMetricFamily(
            "mlops_kit_model_metric_upper", "Upper end of the current metric's interval.", labels=perf_labels
        )
        est_labels = ["monitor", "metric", "method"]
        estimated = GaugeMetricFamily(
            "mlops_kit_model_estimated_metric", "Model metric estimated without labels.", labels=est_labels
        )
        est_lower = GaugeMetricFamily(
            "mlops_kit_model_estimated_metric_lower", "Lower end of the estimate's band.", labels=est_labels
        )
        est_upper = GaugeMetricFamily(
            "mlops_kit_model_estimated_metric_upper", "Upper end of the estimate's band.", labels=est_labels
        )
        decayed = GaugeMetricFamily(
            "mlops_kit_model_decayed",
            "1 if performance decayed (kind: realized on labels, or estimated without).",
            labels=["monitor", "kind"],
        )
        for report in self._reports():
            name = report.monitor or "default"
            for found in report.multivariate:
                if found.statistic is not None:
                    joint.add_metric([name, found.method], found.statistic)
                if found.p_value is not None:
                    joint_p.add_metric([name, found.method], found.p_value)
                joint_drifted.add_metric([name, found.method], float(found.drifted))
            for col in report.columns.values():
                labels = [name, col.column, col.role, col.method]
                if col.statistic is not None:
                    statistic.add_metric(labels, col.statistic)
                if col.p_value is not None:
                    p_value.add_metric(labels, col.p_adjusted if col.p_adjusted is not None else col.p_value)
                if col.effect_size is not None:
                    effect.add_metric(labels, col.effect_size)
                drifted.add_metric(labels, float(col.drifted))
                for sample, rate in (
                    ("reference", col.null_rate_reference),
                    ("current", col.null_rate_current),
                ):
                    if rate is not None:
                        nulls.add_metric([name, col.column, sample], rate)
            share.add_metric([name], report.drift_share)
            detected.add_metric([name], float(report.drifted))
            checked.add_metric([name], report.created_at.timestamp())
            if report.performance is not None:
                for sample, values in (
                    ("current", report.performance.metrics),
                    ("reference", report.performance.reference),
                ):
                    for key, value in values.items():
                        metric.add_metric([name, key, sample], value)
                for key, (lo, hi) in report.performance.intervals.items():
                    lower.add_metric([name, key], lo)
                    upper.add_metric([name, key], hi)
                if report.performance.decayed is not None:
                    decayed.add_metric([name, "realized"], float(report.performance.decayed))
            est = report.estimated_performance
            if est is not None:
                for key, value in est.metrics.items():
                    estimated.add_metric([name, key, est.method], value)
                for key, (lo, hi) in est.intervals.items():
                    est_lower.add_metric([name, key, est.method], lo)
                    est_upper.add_metric([name, key, est.method], hi)
                if est.decayed is not None:
                    decayed.add_metric([name, "estimated"], float(est.decayed))
        yield from (statistic, p_value, effect, drifted, nulls, share, detected, checked, metric)
        yield from (joint, joint_p, joint_drifted)
        yield from (lower, upper, estimated, est_lower, est_upper, decayed)
