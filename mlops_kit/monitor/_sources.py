"""Where the monitor's samples come from: the reference (version, frame or profile) and current data.

Profiles are all most methods need. Raw values are read only for the methods that
need them, once per column, and a stored reference is loaded once (only the columns
asked for) and cached.
"""

from __future__ import annotations

import collections
import itertools
import os
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from mlops_kit.core.dtypes import check_frame
from mlops_kit.core.errors import ConfigError, NotFoundError, SchemaError
from mlops_kit.core.profile import (
    ColumnProfile,
    Profile,
    category_counts,
    keyed_counts,
    numeric_values,
    profile_column,
)

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit.core.storage import Storage
    from mlops_kit.datasets import DatasetVersion

__all__ = ["Current", "Reference", "is_dask_frame", "profile_frame"]

_PARALLEL_ROWS = 50_000  # below this, thread start-up costs more than it saves
_ARROW_ROWS = 1 << 20  # rows of a pyarrow dataset profiled at once


class Reference:
    """The reference sample: a :class:`DatasetVersion`, a DataFrame or a :class:`Profile`."""

    def __init__(
        self,
        reference: Any,
        storage: Callable[[], Storage],
        columns: Sequence[str] | None = None,
        *,
        prefer_origin: bool = False,
    ) -> None:
        import pandas as pd

        from mlops_kit.datasets import Dataset, DatasetVersion

        self._storage = storage
        self._frame: pd.DataFrame | None = None
        self._version: DatasetVersion | None = None
        self._lock = threading.Lock()
        if isinstance(reference, DatasetVersion):
            self._version = reference
            # Without an explicit storage=, raw data comes from where the version was read or saved.
            origin = Dataset.storage_of(reference) if prefer_origin else None
            if origin is not None:
                self._storage = lambda: origin
            self.profile = reference.profile
            self.label = str(reference)
        elif isinstance(reference, pd.DataFrame):
            self._frame = check_frame(reference, "the reference data")
            # Only the columns the monitor may use: others may hold anything (ids, free text).
            wanted = [c for c in self._frame.columns if columns is None or c in columns]
            self.profile = profile_frame(self._frame, wanted)
            self.label = "DataFrame"
        elif isinstance(reference, Profile):
            self.profile = reference
            self.label = "Profile"
        else:
            raise ConfigError(
                f"The reference must be a DatasetVersion, a pandas DataFrame or a Profile, "
                f"got {type(reference).__name__}."
            )
        # Every column of the reference, for messages (a frame's profile covers only the wanted ones).
        self.names: list[str] = list(self.profile.columns if self._frame is None else self._frame.columns)
        if not self.profile.n_rows:
            raise SchemaError("The reference data is empty; a monitor needs at least one reference row.")

    @property
    def has_raw(self) -> bool:
        """Whether raw values can be had (a DataFrame, or a version loadable from storage)."""
        return self._frame is not None or self._version is not None

    def column(self, name: str) -> ColumnProfile:
        return self.profile.columns[name]

    def frame(self, columns: Sequence[str]) -> pd.DataFrame:
        """The raw reference data, at least ``columns`` (a stored version is loaded once, then cached).

        Callers pass every column they may ever need, so that one load serves them all.
        """
        if self._frame is not None:
            return self._frame
        assert self._version is not None, "a Profile reference holds no raw data"
        with self._lock:
            if self._frame is None:
                self._frame = self._load(columns)
        return self._frame

    def _load(self, columns: Sequence[str]) -> pd.DataFrame:
        from mlops_kit.datasets import Dataset

        version = self._version
        assert version is not None
        storage = self._storage()
        try:
            dataset = Dataset(version.name, storage)
            if dataset.get(version.version).fingerprint != version.fingerprint:
                raise NotFoundError("different content")
            return dataset.load(version.version, columns=list(columns))
        except NotFoundError as exc:
            raise NotFoundError(
                f"The reference {version} is not in {storage.url} ({exc}). This method needs the raw "
                "reference data: pass the storage that holds the dataset, Monitor(..., storage=...)."
            ) from exc

    def values(self, name: str, columns: Sequence[str]) -> np.ndarray:
        """The non-null values of a numeric column, as float64."""
        return numeric_values(self.frame(columns)[name], self.column(name).dtype)[0]


def profile_frame(df: pd.DataFrame, columns: Sequence[str], against: Profile | None = None) -> Profile:
    """``Profile.of(df[columns], against)``, one column per thread.

    The numeric kernels (NumPy, Arrow) release the GIL, so columns profile in parallel;
    the result is the same profile.
    """
    from concurrent.futures import ThreadPoolExecutor

    workers = min(len(columns), os.cpu_count() or 1)
    if workers < 2 or len(df) < _PARALLEL_ROWS:
        return Profile.of(df[list(columns)], against)
    refs = against.columns if against is not None else {}
    with ThreadPoolExecutor(workers) as pool:
        profiles = list(pool.map(lambda name: profile_column(df.loc[:, name], refs.get(name)), columns))
    return Profile(n_rows=len(df), columns=dict(zip(columns, profiles, strict=True)))


def is_dask_frame(data: Any) -> bool:
    """A Dask DataFrame, recognized without importing dask."""
    return type(data).__module__.split(".")[0] == "dask" and hasattr(data, "to_delayed")


class Current:
    """The current data (pandas, Dask or a pyarrow dataset), profiled once, raw values on demand.

    ``dask`` is true for both out-of-core kinds: raw values are then pulled only for
    the methods that require them.
    """

    def __init__(self, data: Any) -> None:
        self.arrow = is_arrow_dataset(data)
        self.dask = is_dask_frame(data) or self.arrow
        if not self.dask:
            data = check_frame(data, "the current data")
        self.data = data
        names = data.schema.names if self.arrow else data.columns
        self.columns: list[str] = [str(c) for c in names]

    def profile(self, columns: Sequence[str], against: Profile | None = None) -> Profile:
        """Profile ``columns`` (numeric ones at ``against``'s quantiles); on Dask per partition, merged."""
        if self.arrow:
            return _arrow_profile(self.data, columns, against)
        if not self.dask:
            return profile_frame(self.data, columns, against)
        return _dask_profile(self.data[list(columns)], against)

    def values(self, name: str, dtype: Any) -> np.ndarray:
        """The non-null values of a numeric column, as float64."""
        if self.arrow:
            return numeric_values(self.frame([name])[name], dtype)[0]
        series = self.data[name]
        if self.dask:
            series = series.compute()
        return numeric_values(series, dtype)[0]

    def category_counts(self, name: str) -> dict[str, int]:
        """Every category of a column with its count; on Dask counted on the workers,
        on a pyarrow dataset batch by batch (bounded memory)."""
        if self.arrow:
            import pyarrow.compute as pc

            total: collections.Counter[str] = collections.Counter()
            for batch in self.data.to_batches(columns=[name]):
                found = pc.value_counts(batch.column(0).drop_null()).to_pylist()
                total.update({str(row["values"]): int(row["counts"]) for row in found})
            return dict(total)
        if self.dask:
            return keyed_counts(self.data[name].value_counts(dropna=True).compute())
        return category_counts(self.data[name])

    def frame(self, columns: Sequence[str]) -> pd.DataFrame:
        if self.arrow:
            return cast("pd.DataFrame", self.data.to_table(columns=list(columns)).to_pandas())
        frame = self.data[list(columns)]
        return cast("pd.DataFrame", frame.compute() if self.dask else frame)

    def sample(self, columns: Sequence[str], rows: int, seed: int = 0) -> pd.DataFrame:
        """At most about ``rows`` rows of ``columns`` (all of them if there are fewer), seeded.

        A Dask frame is sampled on the workers, so only the sample reaches the client.
        """
        if self.arrow:  # the rows pandas' frame.sample(n=rows, random_state=seed) picks
            total = self.data.count_rows()
            if total <= rows:
                return self.frame(columns)
            picked = np.random.RandomState(seed).choice(total, size=rows, replace=False)
            return cast("pd.DataFrame", self.data.take(picked, columns=list(columns)).to_pandas())
        frame = self.data[list(columns)]
        if not self.dask:
            return cast(
                "pd.DataFrame", frame if len(frame) <= rows else frame.sample(n=rows, random_state=seed)
            )
        total = int(frame.shape[0].compute())
        if total > rows:
            frame = frame.sample(frac=rows / total, random_state=seed)
        return cast("pd.DataFrame", frame.compute())


def is_arrow_dataset(data: Any) -> bool:
    """A ``pyarrow.dataset.Dataset``, recognized without importing it."""
    return type(data).__module__.startswith("pyarrow") and hasattr(data, "get_fragments")


def _arrow_profile(dataset: Any, columns: Sequence[str], against: Profile | None) -> Profile:
    """``Profile.of`` per group of record batches (about ``_ARROW_ROWS`` rows), merged: bounded memory."""
    import pyarrow as pa

    merged: Profile | None = None
    held: list[Any] = []
    rows = 0
    batches = dataset.to_batches(columns=list(columns), batch_readahead=2, fragment_readahead=1)
    for batch in itertools.chain(batches, [None]):  # None: flush the last group
        if batch is not None:
            held.append(batch)
            rows += batch.num_rows
        if held and (batch is None or rows >= _ARROW_ROWS):
            frame = pa.Table.from_batches(held).to_pandas()
            part = profile_frame(frame, list(columns), against)
            merged = part if merged is None else merged.merge(part)
            held, rows = [], 0
    if merged is None:  # no rows: an empty profile, which the monitor reports as such
        empty = dataset.schema.empty_table().select(list(columns)).to_pandas()
        return Profile.of(empty, against)
    return merged


def _dask_profile(ddf: Any, against: Profile | None) -> Profile:
    """``Profile.of`` per partition, merged pairwise in a tree, on the active Dask scheduler."""
    import dask

    if against is not None:  # only what the partitions need, sent once
        against = Profile(n_rows=against.n_rows, columns={c: against.columns[c] for c in ddf.columns})
    shared = dask.delayed(against)
    parts = [dask.delayed(Profile.of)(part, shared) for part in ddf.to_delayed()]
    if not parts:
        raise SchemaError("The current Dask DataFrame has no partitions.")
    while len(parts) > 1:
        paired = [dask.delayed(_merge)(a, b) for a, b in zip(parts[::2], parts[1::2])]
        parts = paired + ([parts[-1]] if len(parts) % 2 else [])
    (profile,) = dask.compute(parts[0])
    return cast("Profile", profile)


def _merge(a: Profile, b: Profile) -> Profile:
    return a.merge(b)
