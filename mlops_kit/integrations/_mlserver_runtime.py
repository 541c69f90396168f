"""The :class:`mlserver.MLModel` subclass, made on first use so this module imports without MLServer."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import numpy as np
import pandas as pd

from mlops_kit.core.errors import ConfigError, SchemaError
from mlops_kit.core.extras import require
from mlops_kit.integrations._mlserver_core import Options, Serving

__all__ = ["OUTPUTS", "runtime_class"]

OUTPUTS = {"predict": "predict", "predict_proba": "predict_proba"}  # MLServer's scikit-learn names


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
                try:
                    frame = self._frame(payload, served.checker.names)
                except SchemaError:
                    serving.recorder.failed(served.label, 0, client=True)
                    raise
                answers = serving.predict(served, frame, [OUTPUTS[n] for n in names], payload.id)
            except (SchemaError, ConfigError) as exc:
                raise InferenceError(str(exc)) from exc
            except ModelFailed as exc:
                raise MLServerError(str(exc), status_code=500) from exc
            outputs = [NumpyCodec.encode_output(n, _array(a)) for n, a in zip(names, answers)]
            return InferenceResponse(
                id=payload.id, model_name=self.name, model_version=served.label, outputs=outputs
            )

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


def _array(output: Any) -> np.ndarray:
    if isinstance(output, pd.DataFrame | pd.Series):
        return output.to_numpy()
    return np.asarray(output)
