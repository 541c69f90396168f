"""The result of checking data against a :class:`~mlops_kit.core.schema.Schema`."""

from __future__ import annotations

from typing import Any

from mlops_kit.core.errors import SchemaError
from mlops_kit.core.record import Record

__all__ = ["ValidationReport", "Violation"]


class Violation(Record):
    """One failed check on one column: what failed, how often, a few examples."""

    column: str
    check: str
    count: int
    examples: tuple[Any, ...] = ()
    message: str

    def __str__(self) -> str:
        text = f"column {self.column!r} ({self.check}): {self.message}"
        return f"{text}; e.g. {list(self.examples)}" if self.examples else text


class ValidationReport(Record):
    """All violations found; ``ok`` when there are none.

    ``extra_columns`` lists columns the schema does not know (a violation only in
    strict mode).
    """

    violations: tuple[Violation, ...] = ()
    extra_columns: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the data passed every check."""
        return not self.violations

    def __bool__(self) -> bool:
        return self.ok

    @property
    def columns(self) -> list[str]:
        """The columns with at least one violation, in order of first appearance."""
        return list(dict.fromkeys(v.column for v in self.violations))

    def raise_for_errors(self) -> None:
        """Raise :class:`SchemaError` describing every violation, if there is any."""
        if self.violations:
            raise SchemaError(str(self))

    def __str__(self) -> str:
        if self.ok:
            return "Schema validation passed."
        n = len(self.violations)
        lines = [f"{n} schema violation{'s' if n > 1 else ''}:"]
        lines.extend(f"  - {v}" for v in self.violations)
        return "\n".join(lines)
