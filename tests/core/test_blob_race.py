"""A blob is used from the very bytes that were verified, even while its file is being swapped."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlops_kit as mk
from mlops_kit.core.storage import FsspecStorage
from mlops_kit.core.storage.blobs import blob_key


def _swap_forever(path: str, genuine: bytes, foreign: bytes, seconds: float) -> None:
    """An attacker replacing the stored file, back and forth, as fast as it can."""
    folder, end = os.path.dirname(path), time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
        tmp = os.path.join(folder, f".swap-{n}")
        with open(tmp, "wb") as f:
            f.write(foreign if n % 2 else genuine)
        os.replace(tmp, path)


def frame(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(size=20_000), "seed": seed})


@pytest.mark.slow
def test_dataset_load_never_returns_swapped_bytes(tmp_path: Path) -> None:
    store = FsspecStorage(tmp_path / "store")
    genuine = mk.Dataset("d", storage=store).save(frame(1))
    foreign = mk.Dataset("other", storage=store).save(frame(2))
    path = str(tmp_path / "store" / blob_key(genuine.blob))
    good, bad = store.read(blob_key(genuine.blob)), store.read(blob_key(foreign.blob))
    swapper = multiprocessing.get_context("spawn").Process(
        target=_swap_forever, args=(path, good, bad, 6.0), daemon=True
    )
    swapper.start()
    ds = mk.Dataset("d", storage=FsspecStorage(tmp_path / "store"))
    loaded = refused = 0
    try:
        time.sleep(1.0)  # the child is up and swapping
        end = time.monotonic() + 4.0
        while time.monotonic() < end:
            try:
                df = ds.load(1)
            except mk.IntegrityError:
                refused += 1
                continue
            except (mk.NotFoundError, FileNotFoundError):
                continue  # caught between unlink and rename on some filesystems
            loaded += 1
            assert int(df["seed"].iloc[0]) == 1, "bytes that were never verified were used"
    finally:
        swapper.kill()
        swapper.join()
    assert loaded > 50 and refused > 50  # the race really ran both ways


def test_open_blob_hands_out_the_verified_bytes(make_any_storage) -> None:  # type: ignore[no-untyped-def]
    store = make_any_storage()
    digest = store.put_blob(b"genuine bytes")
    with store.open_blob(digest) as f:
        # The key is replaced after the check: what we read is still what was verified.
        store.write(blob_key(digest), b"foreign bytes")
        assert f.read() == b"genuine bytes"


def test_view_blob_gives_the_verified_bytes_and_refuses_tampered_ones(make_any_storage) -> None:  # type: ignore[no-untyped-def]
    from mlops_kit.core.storage.blobs import view_blob

    store = make_any_storage()
    digest = store.put_blob(b"genuine bytes")
    view = view_blob(store, digest)
    # Replacing the key afterwards (as every writer does) leaves the verified view alone.
    store.write(blob_key(digest), b"foreign bytes")
    assert bytes(view) == b"genuine bytes"
    with pytest.raises(mk.IntegrityError):
        view_blob(store, digest)
    with pytest.raises(mk.NotFoundError):
        view_blob(store, "0" * 64)
