"""The torch-free checkpoint reader on files written in torch's own byte layouts."""

from __future__ import annotations

import io
import pickle
import tarfile
import zipfile

import numpy as np
import pytest

from markerless.errors import ModelError
from markerless.model.torch_pickle import load_torch_checkpoint, load_torch_state_dict


def _state() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "conv.weight": rng.normal(size=(4, 3, 3, 2)).astype(np.float32),
        "bn.running_var": rng.uniform(0.5, 2, 4).astype(np.float32),
        "bn.num_batches_tracked": np.array(17, np.int64),
        "fc.weight": rng.normal(size=(5, 4)).astype(np.float64),
        "empty": np.zeros((0, 3), np.float32),
    }


@pytest.mark.parametrize("layout", ["zip", "legacy"])
@pytest.mark.parametrize("fortran", [False, True])
def test_round_trip(tmp_path, write_torch, layout, fortran):
    state = _state()
    path = write_torch(state, tmp_path / "w.pt", layout, fortran=fortran)
    loaded = load_torch_state_dict(path)
    assert list(loaded) == list(state)
    for name, arr in state.items():
        assert loaded[name].shape == arr.shape, name
        assert loaded[name].dtype == arr.dtype, name
        np.testing.assert_array_equal(loaded[name], arr)
        assert loaded[name].flags["C_CONTIGUOUS"]


@pytest.mark.parametrize("layout", ["zip", "legacy"])
def test_tensors_sharing_one_storage_at_offsets(tmp_path, write_torch, layout):
    state = _state()
    loaded = load_torch_state_dict(
        write_torch(state, tmp_path / "w.pt", layout, shared_storage=True, fortran=True)
    )
    np.testing.assert_array_equal(loaded["conv.weight"], state["conv.weight"])
    np.testing.assert_array_equal(loaded["bn.running_var"], state["bn.running_var"])


def test_refuses_code_in_the_pickle(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            import os

            return os.system, (f"touch {marker}",)

    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        for head in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
            pickle.dump(head, f, protocol=2)
        pickle.dump({"x": Evil()}, f, protocol=2)
    with pytest.raises(ModelError, match="refusing to load (posix|os).system"):
        load_torch_checkpoint(path)
    assert not marker.exists()


def test_truncated_file(tmp_path, write_torch):
    path = write_torch(_state(), tmp_path / "w.pt", "legacy")
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ModelError, match="truncated"):
        load_torch_state_dict(path)


def test_tensor_past_its_storage(tmp_path, write_torch):
    path = write_torch({"w": np.ones((2, 3), np.float32)}, tmp_path / "w.pt", "zip")

    with zipfile.ZipFile(path) as zf:
        items = {n: zf.read(n) for n in zf.namelist()}
    items["archive/data/0"] = items["archive/data/0"][:8]  # 2 of 6 floats left
    with zipfile.ZipFile(path, "w") as zf:
        for n, b in items.items():
            zf.writestr(n, b)
    with pytest.raises(ModelError, match="past its storage"):
        load_torch_state_dict(path)


def test_other_formats_fail_clearly(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_torch_checkpoint(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x80\x02K\x05.")  # a pickle of 5: wrong magic number
    with pytest.raises(ModelError, match="magic"):
        load_torch_checkpoint(junk)
    tar = tmp_path / "old.pt"
    with tarfile.open(tar, "w") as tf:
        info = tarfile.TarInfo("sys_info")
        info.size = 2
        tf.addfile(info, io.BytesIO(b"{}"))
    with pytest.raises(ModelError, match="tar layout"):
        load_torch_checkpoint(tar)
    notdict = tmp_path / "list.pt"
    with open(notdict, "wb") as f:
        for head in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}, [1, 2], []):
            pickle.dump(head, f, protocol=2)
    with pytest.raises(ModelError, match="state dict"):
        load_torch_state_dict(notdict)
