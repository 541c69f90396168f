"""The :class:`mlserver.MLModel` subclass, made on first use so this module imports without MLServer."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlops_kit.core.errors import ConfigError, SchemaError
from mlops_kit.core.extras import require
from mlops_kit.integrations._mlserver_core import Options, Serving

if TYPE_CHECKING:
    from mlops_kit.deploy._inputs import InputChecker
    from mlops_kit.deploy._served import Served

__all__ = ["OUTPUTS", "plain_columns", "runtime_class", "signature_datatypes"]

OUTPUTS = {"predict": "predict", "predict_proba": "predict_proba"}  # MLServer's scikit-learn names
# The Open Inference Protocol datatype pandas' codec turns into the dtype the signature's kind takes
_DATATYPES = {"int": "INT64", "float": "FP64", "bool": "BOOL", "string": "BYTES"}


@functools.cache
def runtime_class() -> type[Any]:
    """``RegistryRuntime``, subclassing MLServer's ``MLModel`` (one class per process).

    Raises
    ------
    MissingExtraError
        If MLServer is not installed: ``pip install 'mlops-kit[mlserver]'``.
    """
    require("mlserver", extra="mlserver", purpose="Serving registry models on MLServer")
    from mlserver import MLModel
    from mlserver.codecs import NumpyCodec, PandasCodec
    from mlserver.errors import InferenceError, MLServerError
    from mlserver.types import InferenceRequest, InferenceResponse

    from mlops_kit.deploy import ModelFailed

    class RegistryRuntime(MLModel):  # type: ignore[misc]
        """Serves ``parameters.extra.ref`` from the store at ``parameters.uri`` (see the module doc)."""

        async def load(self) -> bool:
            params = self.settings.parameters
            options = Options.parse(
                None if params is None else params.uri,
                None if params is None else params.extra,
                self.name,
            )
            self._serving = await asyncio.to_thread(Serving, options)
            self._datatypes: dict[str, dict[str, str] | None] = {}
            return True

        async def unload(self) -> bool:
            serving = getattr(self, "_serving", None)
            if serving is not None:
                await asyncio.to_thread(serving.close)
            return True

        async def predict(self, payload: InferenceRequest) -> InferenceResponse:
            serving: Serving = self._serving
            names = [o.name for o in payload.outputs or ()] or ["predict"]
            unknown = [n for n in names if n not in OUTPUTS]
            if unknown:
                raise InferenceError(f"Outputs {unknown} are not served; ask for {sorted(OUTPUTS)}.")
            served = serving.served  # one version for the whole request, even if the alias moves
            try:
                inputs: pd.DataFrame | dict[str, list[Any]] | None = self._plain(payload, served)
                if inputs is None:
                    try:
                        inputs = self._frame(payload, served.checker.names)
                    except SchemaError:
                        serving.recorder.failed(served.label, 0, client=True)
                        raise
                answers = serving.predict(served, inputs, [OUTPUTS[n] for n in names], payload.id)
            except (SchemaError, ConfigError) as exc:
                raise InferenceError(str(exc)) from exc
            except ModelFailed as exc:
                raise MLServerError(str(exc), status_code=500) from exc
            outputs = [NumpyCodec.encode_output(n, _array(a)) for n, a in zip(names, answers)]
            return InferenceResponse(
                id=payload.id, model_name=self.name, model_version=served.label, outputs=outputs
            )

        def _plain(self, payload: InferenceRequest, served: Served) -> dict[str, list[Any]] | None:
            """The request's columns as parsed lists, if pandas' codec would make exactly the
            signature's table of them (see :func:`plain_columns`); ``None`` otherwise."""
            content_type = payload.parameters.content_type if payload.parameters is not None else None
            params = self.settings.parameters
            if (
                self._inputs_index  # the model's metadata names codecs
                or content_type not in (None, PandasCodec.ContentType)
                or (params is not None and params.content_type is not None)
            ):
                return None
            if served.label not in self._datatypes:  # a version's signature never changes: looked at once
                if len(self._datatypes) > 8:
                    self._datatypes.clear()
                self._datatypes[served.label] = signature_datatypes(served)
            return plain_columns(payload.inputs, served.checker, self._datatypes[served.label])

        def _frame(self, payload: InferenceRequest, names: list[str]) -> pd.DataFrame:
            """A table from the request: pandas' codec (``content_type: pd`` or a tensor per
            column) or one 2-D tensor with the signature's columns in order."""
            inputs = payload.inputs
            if (
                len(inputs) == 1
                and inputs[0].name not in names
                and len(inputs[0].shape) == 2
                and (payload.parameters is None or payload.parameters.content_type != PandasCodec.ContentType)
            ):
                array = NumpyCodec.decode_input(inputs[0])
                if names and array.shape[1] != len(names):
                    raise SchemaError(
                        f"Input {inputs[0].name!r} has {array.shape[1]} columns; the model takes "
                        f"{len(names)}: {names}. Send one tensor per column, or a [rows, {len(names)}] tensor."
                    )
                columns = names or [f"{inputs[0].name}_{i}" for i in range(array.shape[1])]
                return pd.DataFrame(array, columns=columns)
            frame: pd.DataFrame = self.decode_request(payload, default_codec=PandasCodec)
            for column in frame.columns:
                values = frame[column]
                if values.dtype == object and len(values) and isinstance(values.iloc[0], bytes | str):
                    if isinstance(values.iloc[0], bytes):
                        values = values.str.decode("utf-8")
                    # pandas' string dtype: the signature's check then looks at the dtype, not each value
                    frame[column] = values.astype("str")
            return frame

    RegistryRuntime.__module__ = "mlops_kit.integrations.mlserver"
    RegistryRuntime.__qualname__ = "RegistryRuntime"
    return RegistryRuntime


def plain_columns(
    inputs: Sequence[Any], checker: InputChecker, datatypes: Mapping[str, str] | None
) -> dict[str, list[Any]] | None:
    """The parsed lists of ``inputs`` (Open Inference Protocol tensors, one per column) if they are
    the signature's columns in order, each with the datatype of its kind (``INT64``, ``FP64``,
    ``BOOL``, ``BYTES``), no codec of its own, and plain values (:meth:`InputChecker.plain`).

    Pandas' codec would make the same table of them as :meth:`InputChecker.plain_frame`
    does, and the signature's check would pass it unchanged, so the table is made once from
    the lists, which are also what the prediction log keeps; anything else goes the general
    way (MLServer's codecs, then the check with its errors).

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace as Tensor
    >>> from mlops_kit.core.schema import Schema
    >>> from mlops_kit.deploy._inputs import InputChecker
    >>> checker = InputChecker(Schema.infer(pd.DataFrame({"age": [30], "plan": ["pro"]})), "m:1")
    >>> def tensor(name, datatype, data):
    ...     return Tensor(name=name, datatype=datatype, parameters=None, data=Tensor(root=data))
    >>> types = {"age": "INT64", "plan": "BYTES"}
    >>> plain_columns([tensor("age", "INT64", [30, 41]), tensor("plan", "BYTES", ["pro", "basic"])], checker, types)
    {'age': [30, 41], 'plan': ['pro', 'basic']}
    >>> plain_columns([tensor("age", "FP64", [30, 41]), tensor("plan", "BYTES", ["pro", "basic"])], checker, types)
    """
    if datatypes is None or len(inputs) != len(datatypes):
        return None
    columns: dict[str, list[Any]] = {}
    for tensor, (name, datatype) in zip(inputs, datatypes.items()):
        parameters = tensor.parameters
        if tensor.name != name or tensor.datatype != datatype:
            return None
        if parameters is not None and parameters.content_type is not None:
            return None
        columns[name] = getattr(tensor.data, "root", tensor.data)
    return columns if checker.plain(columns) else None


def signature_datatypes(served: Served) -> dict[str, str] | None:
    """The datatype each signature column must come in for :func:`plain_columns`; ``None`` if
    a column's kind has none (datetimes, categories...) or there is no signature."""
    schema = served.checker.schema
    wanted = {n: _DATATYPES.get(c.dtype, "") for n, c in schema.columns.items()} if schema else {}
    return wanted if wanted and all(wanted.values()) else None


def _array(output: Any) -> np.ndarray:
    if isinstance(output, pd.DataFrame | pd.Series):
        return output.to_numpy()
    return np.asarray(output)
