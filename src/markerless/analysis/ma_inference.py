"""The one jitted function of multi-animal analysis: uint8 frames in, padded peaks out.

The multi-animal counterpart of `markerless.analysis.inference.FusedPredictor`: resizing,
padding, normalisation, the network, peak NMS, locref, identity at the peaks and the PAF
line integrals of the assembled edges (`markerless.decoding.ma_peaks.detect_peaks`) run in
one ``jax.jit``. What leaves the device per frame is ``K x P x 3`` peak floats (in full-frame
pixels), ``E x P x P`` affinities and ``K x P x N`` identity probabilities: a few KB, never
the maps. Assembly happens on the host (`markerless.assembly.assemble`).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from markerless.analysis.inference import (
    _CACHE,
    _CACHE_LOCK,
    CACHE_SIZE,
    Geometry,
    _forward,
    _set_eval,
    _to_frame_coords,
    info_get,
    network_input_hw,
)
from markerless.assembly.spec import MultiAnimalSpec
from markerless.decoding.ma_peaks import PeakConfig, detect_peaks
from markerless.errors import ModelError

__all__ = ["MultiAnimalPredictor", "cached_ma_predictor", "ma_spec_of", "peak_config",
           "predict_multi_frames"]


def ma_spec_of(info: Any) -> MultiAnimalSpec | None:
    """The `MultiAnimalSpec` of a model (from its snapshot metadata), None if single-animal."""
    meta = info_get(info, "meta") or {}
    ma = meta.get("multianimal") if isinstance(meta, dict) else None
    if ma is None:
        ma = info_get(info, "multianimal")
    if not ma:
        return None
    return ma if isinstance(ma, MultiAnimalSpec) else MultiAnimalSpec.from_meta(ma)


def peak_config(spec: MultiAnimalSpec, stride: float, locref_stdev: float, *,
                max_peaks: int | None = None, nms_radius: int = 2, threshold: float = 0.01,
                n_points: int = 10, edges: list[int] | None = None) -> PeakConfig:
    """Device settings for ``spec``'s model: the ``paf_best`` edges (or ``edges``), and
    ``max_peaks`` per bodypart (default: individuals + 2)."""
    chosen = list(spec.paf_best) if edges is None else [int(e) for e in edges]
    if any(not 0 <= e < len(spec.edges) for e in chosen):
        raise ModelError(f"edge indices {chosen} outside the model's {len(spec.edges)} edges")
    p = max_peaks or spec.n_individuals + 2
    return PeakConfig(max_peaks=int(p), nms_radius=int(nms_radius), threshold=float(threshold),
                      edges=tuple(spec.edges[e] for e in chosen), edge_channels=tuple(chosen),
                      n_points=int(n_points), stride=float(stride),
                      locref_stdev=float(locref_stdev))


def _fused_multi(graphdef: Any, geom: Geometry, pcfg: PeakConfig, state: Any,
                 frames: jax.Array) -> dict[str, jax.Array]:
    from markerless.decoding.scoremaps import mask_padding

    outputs = dict(_forward(graphdef, state, frames, geom))
    valid = network_input_hw(geom.frame_hw, geom.scale)
    if valid != geom.net_hw:  # no peaks in the (edge-repeated) padding
        outputs["scores"] = mask_padding(outputs["scores"], valid, geom.stride)
    out = detect_peaks(outputs, pcfg)
    out["peaks"] = _to_frame_coords(out["peaks"], geom)
    return out


class MultiAnimalPredictor:
    """``predictor(frames_uint8 (B, h, w, 3)) -> {"peaks", "affinity"[, "identity"]}``.

    Device arrays (asynchronous dispatch, as `FusedPredictor`); peaks ``(B, K, P, 3)`` in
    full-frame pixels. Compiles once per batch shape.
    """

    def __init__(self, model: Any, geometry: Geometry, peaks: PeakConfig):
        from flax import nnx

        _set_eval(model)
        self.geometry, self.peaks = geometry, peaks
        graphdef, state = nnx.split(model)
        self._state = jax.device_put(state)
        self._fused = jax.jit(functools.partial(_fused_multi, graphdef, geometry, peaks))

    def __call__(self, frames: np.ndarray | jax.Array) -> dict[str, jax.Array]:
        return self._fused(self._state, frames)

    def lowered(self, batch_size: int):
        """AOT-compiled function for a fixed batch size."""
        h, w = self.geometry.frame_hw
        spec = jax.ShapeDtypeStruct((batch_size, h, w, 3), jnp.uint8)
        return self._fused.lower(self._state, spec).compile()


def cached_ma_predictor(token: str, geometry: Geometry, peaks: PeakConfig,
                        model: Any) -> MultiAnimalPredictor:
    """The process's predictor for weights ``token`` (shares `cached_predictor`'s cache)."""
    key = (token, (geometry, peaks))
    with _CACHE_LOCK:
        pred = _CACHE.get(key)
        if pred is None:
            pred = _CACHE[key] = MultiAnimalPredictor(model(), geometry, peaks)
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
        _CACHE.move_to_end(key)
    return pred


def predict_multi_frames(model: Any, info: Any, images: np.ndarray, batch_size: int = 8,
                         **peak_kwargs: Any) -> dict[str, np.ndarray]:
    """Peaks, affinities (and identity) for an in-memory stack of whole frames (evaluation,
    graph pruning): arrays with the frames on the first axis, as host NumPy arrays."""
    spec = ma_spec_of(info)
    if spec is None:
        raise ModelError("predict_multi_frames needs a multi-animal model")
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    stride = float(info_get(info, "stride"))
    stdev = float(info_get(info, "locref_stdev") or 7.2801)
    geom = Geometry(frame_hw=tuple(images.shape[1:3]),
                    scale=float(info_get(info, "global_scale") or 1.0),
                    pad_multiple=int(info_get(info, "pad_multiple") or 32), stride=stride,
                    locref_stdev=stdev, net_type=str(info_get(info, "net_type")))
    pred = MultiAnimalPredictor(model, geom, peak_config(spec, stride, stdev, **peak_kwargs))
    n = len(images)
    parts: list[dict[str, np.ndarray]] = []
    for start in range(0, n, batch_size):
        chunk = images[start:start + batch_size]
        pad = batch_size - len(chunk)
        if pad and n > batch_size:
            chunk = np.concatenate([chunk, np.zeros((pad, *chunk.shape[1:]), chunk.dtype)])
        out = pred(chunk)
        keep = len(chunk) - pad if pad and n > batch_size else len(chunk)
        parts.append({k: np.asarray(v)[:keep] for k, v in out.items()})
    if not parts:
        raise ModelError("no frames to predict")
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
