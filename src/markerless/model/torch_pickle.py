"""Read PyTorch checkpoint files into NumPy arrays, without importing torch.

PyTorch's ``torch.save`` writes one of two layouts that matter here:

* the **zip** layout (torch >= 1.6): ``<archive>/data.pkl`` is a pickle whose
  tensors refer, through ``persistent_load`` ids
  ``('storage', StorageType, key, location, numel)``, to raw little-endian
  buffers ``<archive>/data/<key>``;
* the **legacy raw** layout (older torch, still shipped in many wheels): five
  pickles back to back (magic number, protocol version, system info, the
  object, the list of storage keys) followed, for each key in that list, by an
  int64 element count and the raw buffer.

Both unpickle tensors through ``torch._utils._rebuild_tensor_v2(storage,
offset, size, stride, ...)``. We unpickle with a :class:`pickle.Unpickler`
whose ``find_class`` only admits that rebuild function, ``OrderedDict`` and
the storage type names, so a checkpoint cannot run code; strides are honoured
(some converted checkpoints are non-contiguous) and bounds-checked before the
buffer is viewed. The even older tar layout (torch < 0.4) is refused with a
clear message.
"""

from __future__ import annotations

import collections
import io
import pickle
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import ml_dtypes
import numpy as np

from markerless.errors import ModelError

__all__ = ["load_torch_checkpoint", "load_torch_state_dict"]

# Torch's storage classes -> NumPy dtypes (byte order applied later).
_STORAGE_DTYPES: dict[str, np.dtype] = {
    "FloatStorage": np.dtype("f4"),
    "DoubleStorage": np.dtype("f8"),
    "HalfStorage": np.dtype("f2"),
    "BFloat16Storage": np.dtype(ml_dtypes.bfloat16),
    "LongStorage": np.dtype("i8"),
    "IntStorage": np.dtype("i4"),
    "ShortStorage": np.dtype("i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001


@dataclass(frozen=True)
class _StorageType:
    """Stand-in for ``torch.FloatStorage`` & co.: only its dtype matters."""

    name: str

    @property
    def dtype(self) -> np.dtype:
        return _STORAGE_DTYPES[self.name]


@dataclass(frozen=True)
class _StorageRef:
    """A storage named in the pickle, resolved to bytes after unpickling."""

    key: str
    dtype: np.dtype
    numel: int
    view: tuple[str, int, int] | None  # (view_key, offset, size) of old views


@dataclass(frozen=True)
class _LazyTensor:
    storage: _StorageRef
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage: Any, offset: int, size: Any, stride: Any, *_: Any) -> _LazyTensor:
    if not isinstance(storage, _StorageRef):
        raise pickle.UnpicklingError("tensor rebuilt from something that is not a storage")
    return _LazyTensor(
        storage, int(offset), tuple(int(s) for s in size), tuple(int(s) for s in stride)
    )


def _rebuild_parameter(data: Any, *_: Any) -> Any:
    return data


def _rebuild_from_type_v2(func: Any, _new_type: Any, args: Any, _state: Any) -> Any:
    if func not in (_rebuild_tensor, _rebuild_parameter):
        raise pickle.UnpicklingError("unexpected rebuild function")
    return func(*args)


_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
    ("torch.nn.parameter", "Parameter"): "Parameter",
    ("torch", "Tensor"): "Tensor",
}


class _SafeUnpickler(pickle.Unpickler):
    """Unpickler admitting only tensors, storages and ordered dicts."""

    def __init__(self, file: BinaryIO, path: Path):
        super().__init__(file)
        self._path = path
        self.refs: dict[str, _StorageRef] = {}  # every storage met, by key

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if (module, name) in _ALLOWED_GLOBALS:
            return _ALLOWED_GLOBALS[(module, name)]
        raise ModelError(
            f"refusing to load {module}.{name} from {self._path}: only plain tensors "
            "(a state_dict) can be read without torch"
        )

    def persistent_load(self, pid: Any) -> _StorageRef:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] in ("storage", b"storage")):
            raise ModelError(f"unsupported persistent id {pid!r:.80} in {self._path}")
        storage_type, key, _location, numel = pid[1:5]
        view = pid[5] if len(pid) > 5 else None
        if not isinstance(storage_type, _StorageType):
            raise ModelError(f"unsupported storage type {storage_type!r} in {self._path}")
        view_t = None if view is None else (str(view[0]), int(view[1]), int(view[2]))
        ref = _StorageRef(str(key), storage_type.dtype, int(numel), view_t)
        self.refs[ref.key] = ref
        return ref


def _materialise(obj: Any, buffers: dict[str, np.ndarray], path: Path) -> Any:
    """Replace every lazy tensor in ``obj`` (dicts, lists, tuples) by an array."""
    if isinstance(obj, _LazyTensor):
        ref = obj.storage
        if ref.key not in buffers:
            raise ModelError(f"storage {ref.key!r} missing from {path}")
        flat = buffers[ref.key]
        if ref.view is not None:
            _, view_offset, view_size = ref.view
            flat = flat[view_offset : view_offset + view_size]
        return _strided_copy(flat, obj, path)
    if isinstance(obj, dict):
        return type(obj)((k, _materialise(v, buffers, path)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialise(v, buffers, path) for v in obj)
    return obj


def _strided_copy(flat: np.ndarray, t: _LazyTensor, path: Path) -> np.ndarray:
    if any(s == 0 for s in t.size):
        return np.zeros(t.size, flat.dtype)
    if len(t.size) != len(t.stride) or any(s < 0 for s in t.stride):
        raise ModelError(f"malformed tensor (size {t.size}, stride {t.stride}) in {path}")
    last = t.offset + sum((n - 1) * s for n, s in zip(t.size, t.stride, strict=True))
    if t.offset < 0 or last >= flat.size:
        raise ModelError(f"tensor reaches past its storage ({last} >= {flat.size}) in {path}")
    view = np.lib.stride_tricks.as_strided(
        flat[t.offset :],
        shape=t.size,
        strides=[s * flat.itemsize for s in t.stride],
        writeable=False,
    )
    return np.array(view, dtype=flat.dtype.newbyteorder("="), order="C", copy=True)


def _read_zip(path: Path) -> Any:
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pkl:
            raise ModelError(f"{path} is a zip file but has no data.pkl: not a torch checkpoint")
        root = pkl[0][: -len("data.pkl")]
        order = "<"
        if f"{root}byteorder" in names and zf.read(f"{root}byteorder").strip() == b"big":
            order = ">"
        unpickler = _SafeUnpickler(io.BytesIO(zf.read(pkl[0])), path)
        obj = unpickler.load()
        refs = unpickler.refs
        buffers = {}
        for key, ref in refs.items():
            raw = zf.read(f"{root}data/{key}")
            buffers[key] = np.frombuffer(raw, ref.dtype.newbyteorder(order))
    return _materialise(obj, buffers, path)


def _read_legacy(path: Path) -> Any:
    with open(path, "rb") as f:
        magic = _SafeUnpickler(f, path).load()
        if magic != _LEGACY_MAGIC:
            raise ModelError(f"{path} is not a torch checkpoint (bad magic number)")
        if _SafeUnpickler(f, path).load() != _LEGACY_PROTOCOL:
            raise ModelError(f"{path}: unsupported legacy torch protocol version")
        sys_info = _SafeUnpickler(f, path).load()
        order = "<" if sys_info.get("little_endian", True) else ">"
        unpickler = _SafeUnpickler(f, path)
        obj = unpickler.load()
        refs = unpickler.refs
        keys = _SafeUnpickler(f, path).load()
        buffers: dict[str, np.ndarray] = {}
        for key in keys:
            key = str(key)
            if key not in refs:
                raise ModelError(f"{path}: storage {key!r} listed but never used")
            dtype = refs[key].dtype.newbyteorder(order)
            numel = int(np.frombuffer(f.read(8), np.dtype("i8").newbyteorder(order))[0])
            raw = f.read(numel * dtype.itemsize)
            if len(raw) != numel * dtype.itemsize:
                raise ModelError(f"{path} is truncated (storage {key!r})")
            buffers[key] = np.frombuffer(raw, dtype)
    return _materialise(obj, buffers, path)


def load_torch_checkpoint(path: str | Path) -> Any:
    """Unpickle a ``torch.save`` file, returning tensors as NumPy arrays.

    Parameters
    ----------
    path
        A ``.pt``/``.pth`` file in torch's zip or legacy raw layout.

    Returns
    -------
    The saved object (usually an ``OrderedDict`` state dict) with every tensor
    replaced by a contiguous NumPy array in native byte order.

    Raises
    ------
    ModelError
        When the file is missing, truncated, in the old tar layout, or holds
        anything other than tensors, dicts, lists and plain values.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"torch checkpoint not found: {path}")
    try:
        if zipfile.is_zipfile(path):
            return _read_zip(path)
        if tarfile.is_tarfile(path):
            raise ModelError(
                f"{path} uses torch's pre-0.4 tar layout, which markerless cannot read; "
                "re-save it with a recent torch (torch.save(torch.load(p), p))"
            )
        return _read_legacy(path)
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError, AttributeError) as exc:
        raise ModelError(f"cannot read torch checkpoint {path}: {exc}") from exc


def load_torch_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Read a state dict (``name -> array``), unwrapping ``{'state_dict': ...}``."""
    obj = load_torch_checkpoint(path)
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, np.ndarray) for v in obj.values()):
        raise ModelError(f"{path} does not hold a state dict of tensors")
    return dict(obj)
