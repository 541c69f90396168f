"""Datasets: immutable, content-fingerprinted versions of DataFrames."""

from mlops_kit.core.exports import publish
from mlops_kit.datasets._dataset import Dataset

# arrow_over_parts, dask_over_parts and store_parts are for mlops_kit.pipeline (not public):
# a step's lazy outputs are stored and read back as parts.
from mlops_kit.datasets._handles import arrow_over_parts as arrow_over_parts
from mlops_kit.datasets._handles import dask_over_parts as dask_over_parts
from mlops_kit.datasets._handles import fingerprint_of
from mlops_kit.datasets._handles import store_parts as store_parts
from mlops_kit.datasets._records import DatasetLink, DatasetPart, DatasetVersion

__all__ = ["Dataset", "DatasetLink", "DatasetPart", "DatasetVersion", "fingerprint_of"]

# Last: every name above is bound.
publish(__name__, __all__, globals())
