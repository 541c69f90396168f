"""The rollout's settings, and the loop's keyword arguments they replace (deprecated aliases)."""

from __future__ import annotations

import warnings
from typing import Any

from mlops_kit.core.errors import ConfigError
from mlops_kit.deploy import Canary, Replace, Shadow

__all__ = ["JUDGED", "Rollout", "rollout_settings"]

Rollout = Canary | Shadow | Replace
# Settings of ContinuousTraining before 0.x that now live on Canary and Shadow.
JUDGED = ("promote_after", "max_error_rate", "min_requests", "metric_tolerance")


def rollout_settings(rollout: Any, legacy: dict[str, Any]) -> tuple[Rollout, Canary | Shadow]:
    """The rollout, and what judges a candidate (the rollout itself unless it is a ``Replace``).

    ``legacy`` holds the loop's old keyword arguments the caller passed (``None`` for the
    others): each warns once, and is applied to the rollout unless it says otherwise.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     rollout_settings(Canary(0.2), {"promote_after": 50})
    (Canary(weight=0.2, key=None, promote_after=50), Canary(weight=0.2, key=None, promote_after=50))
    """
    chosen = Canary(0.1) if rollout is None else rollout
    if not isinstance(chosen, Canary | Shadow | Replace):
        raise ConfigError(f"rollout must be a Canary, Shadow or Replace, got {type(chosen).__name__}.")
    given = {name: value for name, value in legacy.items() if value is not None}
    if not given:
        return chosen, chosen if isinstance(chosen, Canary | Shadow) else Canary(1.0)
    kind = "Shadow" if isinstance(chosen, Shadow) else "Canary"
    spelled = ", ".join(f"{name}={value!r}" for name, value in given.items())
    warnings.warn(
        f"ContinuousTraining({spelled}) is deprecated: these settings are the rollout's now; "
        f"pass rollout={kind}(..., {spelled}) instead.",
        DeprecationWarning,
        stacklevel=3,
    )
    if isinstance(chosen, Replace):  # they judge a rollout someone else started
        return chosen, Canary(1.0, **given)
    defaults = type(chosen).model_fields
    clashes = {
        name: getattr(chosen, name)
        for name, value in given.items()
        if getattr(chosen, name) not in (value, defaults[name].default)
    }
    if clashes:
        raise ConfigError(
            f"{spelled} and rollout={chosen!r} disagree on {sorted(clashes)}; set them on the rollout only."
        )
    judged = chosen.evolve(**given)
    return judged, judged
