"""Resumable, jit-compiled training of the heatmap model (DeepLabCut's ``train_network``).

Design:

* All training frames are decoded once into one uint8 array held by JAX (a few dozen to a
  few hundred frames). Each step draws its batch *inside* the jitted step from a PRNG key
  ``fold_in(base_key, step)``, augments on device (`augment_batch`), builds the targets
  (`make_targets`), runs the network and the DLC loss and applies AdamW: one XLA program, no
  host data pipeline. Because the batch and the augmentation depend only on (key, step), a
  run restored from a checkpoint continues bit-for-bit like an uninterrupted one.
* The model and optimizer live as one ``nnx.split`` state pytree passed to a ``jax.jit``
  function (functional nnx API: no per-step graph traversal in Python).
* Checkpoints: every ``saveiters`` steps, at the end and when the loop is interrupted
  (``GeneratorExit``/``KeyboardInterrupt``) a ``snapshot-<step>.msgpack`` (weights) and the
  full ``train_state.msgpack`` (weights, optimizer state, step, key) are written atomically
  (see `markerless.training.checkpoint`); ``resume=True`` continues from the latter.

The optimiser and the jitted step live in `markerless.training.train_step` (`make_schedule`
and `make_optimizer` are re-exported here).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from markerless.errors import ModelError
from markerless.io.config import is_multianimal
from markerless.training import checkpoint as ckpt
from markerless.training.recipes import MULTI_ANIMAL_FIELDS, TrainConfig, write_pose_cfg
from markerless.training.targets import positive_weights
from markerless.training.train_step import make_optimizer, make_schedule, make_train_step

__all__ = ["Trainer", "iter_train", "make_optimizer", "make_schedule", "train_network"]

log = logging.getLogger(__name__)
TRAIN_STATE = "train_state.msgpack"


def keypoint_extent(keypoints: np.ndarray, scale: float = 1.0, q: float = 99.0) -> float:
    """The ``q``-th percentile over frames of the labeled keypoints' larger spread (x or y),
    in original pixels (``keypoints`` ``(N, ..., K, 2)`` scaled by ``scale``); 0 if none."""
    kp = np.asarray(keypoints, dtype=np.float64).reshape(len(keypoints), -1, 2)
    labeled = np.isfinite(kp).all(-1)
    lo = np.where(labeled[..., None], kp, np.inf).min(axis=1)
    hi = np.where(labeled[..., None], kp, -np.inf).max(axis=1)
    spread = (hi - lo).max(axis=1)  # (N,), -inf where nothing is labeled
    spread = spread[np.isfinite(spread)]
    return float(np.percentile(spread, q) / scale) if spread.size else 0.0


class Trainer:
    """One shuffle's training run: data in memory, model, optimizer, jitted step, saving.

    ``Trainer(config, shuffle, trainingsetindex, **overrides)`` reads the recipe from the
    model folder's ``pose_cfg.yaml`` (written by `create_training_dataset`); ``overrides``
    are `TrainConfig` fields (``maxiters=...``). `run` is the training loop as a generator.
    """

    def __init__(self, config: str | os.PathLike, shuffle: int = 1, trainingsetindex: int = 0,
                 *, train_config: TrainConfig | None = None, resume: bool = True,
                 **overrides: Any):
        from markerless.model import ModelConfig
        from markerless.training.augment import symmetric_pairs_from_names
        from markerless.training.dataset import (
            _load,
            model_folder,
            read_pose_cfg,
            train_fraction_of,
        )
        from markerless.training.snapshots import build_network
        from markerless.training.training_data import load_training_data

        cfg, project = _load(config)
        self.shuffle, self.fraction = int(shuffle), train_fraction_of(cfg, trainingsetindex)
        self.model_dir = project / model_folder(cfg, self.fraction, shuffle)
        self.train_dir = self.model_dir / "train"
        pose_cfg = read_pose_cfg(self.train_dir / "pose_cfg.yaml")
        tc = train_config or TrainConfig.from_dict(pose_cfg.get("train_config", {}))
        init_weights = overrides.pop("init_weights", None)  # DLC's: a model to start from
        self.tc = tc = tc.replace(**overrides)
        self._pose_cfg = pose_cfg
        self.names = {k: str(cfg[k]) for k in ("Task", "date", "scorer")}
        self.iteration = int(cfg.get("iteration", 0) or 0)

        data = load_training_data(project, shuffle, trainingsetindex, "train", tc.global_scale)
        self.multianimal = is_multianimal(cfg)
        if len(data.individuals) > 1 and not self.multianimal:
            raise ModelError(f"{project}: labels hold {len(data.individuals)} individuals but "
                             "config.yaml says multianimalproject: false")
        self.bodyparts, self.individuals = data.bodyparts, data.individuals
        self.frames = data.frames
        # original (height, width) of the training images: analysis warns on other sizes
        # (data.sizes are the images as scaled by global_scale)
        self.image_sizes = sorted({(round(h / data.scale), round(w / data.scale))
                                   for h, w in data.sizes.tolist()})
        # how far the animal's labeled keypoints spread (original pixels): the crop size of
        # two-stage inference must hold it
        self.keypoint_extent = keypoint_extent(data.keypoints, data.scale)
        self.images = jnp.asarray(data.images)
        log.info("Training data: %d frames %s (%.0f MB uint8)", len(data.frames),
                 data.images.shape[1:3], data.images.nbytes / 2**20)
        self.ma_spec = None
        if self.multianimal:
            from markerless.assembly.spec import flat_keypoints, spec_from_project

            self.ma_spec = spec_from_project(cfg, tc.paf_graph, data.keypoints, pose_cfg)
            self.keypoints = jnp.asarray(flat_keypoints(data.keypoints, self.ma_spec))
        else:
            self.keypoints = jnp.asarray(data.keypoints[:, 0])  # (N, K, 2)
        names = list(self.ma_spec.multi_bodyparts) if self.ma_spec else self.bodyparts
        pairs = symmetric_pairs_from_names(names) if tc.flip_symmetric else ()

        ma = self.ma_spec
        self.model_config = ModelConfig(
            net_type=tc.net_type, num_keypoints=len(self.bodyparts), stride=tc.stride,
            pretrained=tc.pretrained, frozen_bn=tc.bn_frozen, multianimal=ma is not None,
            num_pafs=len(ma.edges) if ma else 0, num_identities=ma.n_identities if ma else 0,
        )
        resume_from = None
        if resume and (self.train_dir / TRAIN_STATE).exists():  # check before building
            resume_from = self._load_checkpoint(self.train_dir / TRAIN_STATE)
        # Resuming overwrites every weight: skip loading ImageNet weights then.
        model = build_network(dataclasses.replace(self.model_config, pretrained=False)
                              if resume_from else self.model_config, tc.seed)
        if init_weights is not None and resume_from is None:
            from markerless.training.init_weights import apply_init_weights

            apply_init_weights(model, init_weights, self.bodyparts)
        model.train()
        optimizer = nnx.Optimizer(model, make_optimizer(tc), wrt=nnx.Param)
        self.graphdef, self.state = nnx.split((model, optimizer))
        self.base_key = jax.random.fold_in(jax.random.key(tc.seed), self.shuffle)
        self.step = 0
        self.saved_step = 0
        self.last_loss = float("nan")
        self._schedule = make_schedule(tc)
        if ma is None:
            self._train_step = make_train_step(
                self.graphdef, tc, len(data.frames), data.images.shape[1:3], pairs,
                positive_weights(data.keypoints, tc.positive_weight, tc.rare_part_boost)
                if tc.rare_part_boost > 1 else None)
        else:
            from markerless.training.ma_train_step import make_ma_train_step

            unique_pairs = (symmetric_pairs_from_names(list(ma.unique_bodyparts))
                            if tc.flip_symmetric else ())
            self._train_step = make_ma_train_step(self.graphdef, tc, len(data.frames),
                                                  data.images.shape[1:3], ma.layout(), pairs,
                                                  unique_pairs)
        if resume_from is not None:
            self._restore(self.train_dir / TRAIN_STATE, *resume_from)

    # --- state ----------------------------------------------------------------------------
    def _signature(self) -> dict[str, Any]:
        """What must not change between a checkpoint and a resumed run."""
        mc = dataclasses.asdict(self.model_config)
        mc.pop("pretrained", None)
        digest = hashlib.sha1("\n".join(self.frames).encode()).hexdigest()
        tcd = self.tc.to_dict()
        for key in ("maxiters", "displayiters", "saveiters", "max_snapshots_to_keep"):
            tcd.pop(key)
        if self.ma_spec is None:  # as before multi-animal fields existed: old runs resume
            for key in MULTI_ANIMAL_FIELDS:
                tcd.pop(key)
            for key in ("multianimal", "num_pafs", "num_identities"):
                mc.pop(key)
        sig = {"model_config": mc, "train_config": tcd, "frames_sha1": digest,
               "bodyparts": self.bodyparts}
        if self.ma_spec is not None:
            graph = self.ma_spec.to_meta()
            graph.pop("paf_best")  # chosen after training
            sig["multianimal"] = graph
        return json.loads(json.dumps(sig, default=list))  # as it reads back from a file

    def _meta(self) -> dict[str, Any]:
        return {
            "step": self.step, "model_config": dataclasses.asdict(self.model_config),
            "bodyparts": self.bodyparts, "individuals": self.individuals,
            "global_scale": self.tc.global_scale, "pad_multiple": self.tc.pad_multiple,
            "locref_stdev": self.tc.locref_stdev, "shuffle": self.shuffle,
            "train_fraction": self.fraction, "iteration": self.iteration, **self.names,
            "image_sizes": [list(s) for s in self.image_sizes],
            "keypoint_extent": self.keypoint_extent,
            "train_config": self.tc.to_dict(), "loss": self.last_loss,
            "created": _dt.datetime.now().isoformat(timespec="seconds"),
            **({"multianimal": self.ma_spec.to_meta()} if self.ma_spec else {}),
        }  # fmt: skip

    def _objects(self) -> tuple[nnx.Module, nnx.Optimizer]:
        return nnx.merge(self.graphdef, self.state)

    def save(self) -> Path:
        """Write ``snapshot-<step>.msgpack`` and ``train_state.msgpack``; prune old snapshots."""
        from markerless.training.snapshots import list_snapshots

        model, optimizer = self._objects()
        weights = {f"model/{k}": v for k, v in
                   ckpt.flatten_state(nnx.state(model, ckpt.MODEL_VARIABLES)).items()}
        meta = self._meta()
        snap = ckpt.save_file(self.train_dir / f"snapshot-{self.step}.msgpack", weights, meta)
        full = dict(weights)
        opt = ckpt.flatten_state(nnx.state(optimizer))
        full.update({f"optimizer/{k}": v for k, v in opt.items()})
        full["rng/key"] = np.asarray(jax.random.key_data(self.base_key))
        meta["signature"] = self._signature()
        ckpt.save_file(self.train_dir / TRAIN_STATE, full, meta)
        self.saved_step = self.step
        keep = max(int(self.tc.max_snapshots_to_keep), 1)
        for old in list_snapshots(self.train_dir)[:-keep]:
            old.unlink(missing_ok=True)
        return snap

    def _load_checkpoint(self, path: Path) -> tuple[dict, dict]:
        flat, meta = ckpt.load_file(path)
        if meta.get("signature") != self._signature():
            raise ModelError(
                f"{str(path)!r} was saved with a different network, recipe or training set; "
                "pass resume=False to start over (or delete that file)")
        return flat, meta

    def _restore(self, path: Path, flat: dict, meta: dict) -> None:
        model, optimizer = self._objects()
        ckpt.restore_into(model, flat, path, prefix="model/", variables=ckpt.MODEL_VARIABLES)
        ckpt.restore_into(optimizer, flat, path, prefix="optimizer/")
        self.state = nnx.state((model, optimizer))
        self.base_key = jax.random.wrap_key_data(jnp.asarray(flat["rng/key"]))
        self.step = self.saved_step = int(meta["step"])
        self.last_loss = float(meta.get("loss", float("nan")))
        log.info("Resuming from step %d (%s)", self.step, path)

    def eval_model(self) -> nnx.Module:
        """A copy of the current network in eval mode (safe to keep while training goes on)."""
        model, _ = nnx.merge(self.graphdef, jax.tree.map(jnp.copy, self.state))
        model.eval()
        return model

    def model_info(self):
        """`ModelInfo` of the current network (for `Predictor`)."""
        from markerless.training.snapshots import ModelInfo, scorer_name

        return ModelInfo(
            net_type=self.tc.net_type, stride=self.tc.stride, bodyparts=self.bodyparts,
            individuals=self.individuals, global_scale=self.tc.global_scale,
            pad_multiple=self.tc.pad_multiple, locref_stdev=self.tc.locref_stdev,
            step=self.step, shuffle=self.shuffle, train_fraction=self.fraction,
            scorer=scorer_name(self.tc.net_type, self.names["Task"], self.names["date"],
                               self.shuffle, self.step),
            meta=self._meta(),
        )

    def prune_graph(self, max_frames: int = 100) -> list[int]:
        """Choose the part-affinity edges that assemble best (DLC's ``paf_best``) on up to
        ``max_frames`` training frames, record them and save (`ma_prune.prune_trained`)."""
        from markerless.training.ma_prune import prune_trained

        best, scores = prune_trained(self, max_frames)
        self.ma_spec = self.ma_spec.replace(paf_best=tuple(best))
        self._pose_cfg.update(paf_best=list(best), paf_best_scores=[
            {"edges": sc.edges, "miss": sc.miss, "purity": sc.purity,
             "miss_dropped": sc.miss_dropped, "purity_dropped": sc.purity_dropped}
            for sc in scores])
        write_pose_cfg(self.train_dir / "pose_cfg.yaml", self._pose_cfg)
        self.save()
        return best

    # --- loop -----------------------------------------------------------------------------
    def train_step(self) -> jax.Array:
        """One optimisation step; returns the (device) loss terms without blocking."""
        self.state, terms = self._train_step(self.state, self.images, self.keypoints,
                                             self.base_key, self.step)
        self.step += 1
        return terms

    def run(self) -> Iterator[dict[str, Any]]:
        """Train to ``maxiters``, yielding a progress dict every ``displayiters`` steps.

        Keys: ``step, maxiters, loss, part_loss, locref_loss, lr, images_per_s, eta_s,
        elapsed_s, snapshot`` (path written at this step, else None).
        """
        tc = self.tc
        if self.step >= tc.maxiters:
            log.info("Already trained to step %d >= maxiters %d", self.step, tc.maxiters)
            return
        pose_cfg = self._pose_cfg
        if pose_cfg.get("train_config") != tc.to_dict():  # record what this run really uses
            pose_cfg.update(net_type=tc.net_type, stride=tc.stride, batch_size=tc.batch_size,
                            maxiters=tc.maxiters, global_scale=tc.global_scale,
                            train_config=tc.to_dict())
            if self.ma_spec is not None:  # the graph this run trains (DLC's keys)
                pose_cfg.update(self.ma_spec.pose_cfg_entries())
            write_pose_cfg(self.train_dir / "pose_cfg.yaml", pose_cfg)
        start = time.perf_counter()
        pending: list[dict[str, jax.Array]] = []
        t_mark, n_mark = None, 0
        rate = float("nan")
        try:
            while self.step < tc.maxiters:
                pending.append(self.train_step())
                if t_mark is None:  # the first step compiles: rates start after it
                    jax.block_until_ready(pending[-1])
                    t_mark, n_mark = time.perf_counter(), self.step
                snapshot = None
                if self.step % tc.saveiters == 0 or self.step == tc.maxiters:
                    snapshot = str(self.save())
                if self.step % tc.displayiters == 0 or self.step == tc.maxiters or snapshot:
                    terms = {k: float(np.mean([np.asarray(p[k]) for p in pending]))
                             for k in pending[0]}
                    pending.clear()
                    now = time.perf_counter()
                    if self.step > n_mark:
                        rate = (self.step - n_mark) / (now - t_mark)
                        t_mark, n_mark = now, self.step
                    self.last_loss = terms["total"]
                    if not np.isfinite(self.last_loss):
                        raise FloatingPointError(f"Training diverged at step {self.step} "
                                                 f"(loss {self.last_loss}); lower the lr")
                    yield {
                        "step": self.step, "maxiters": tc.maxiters, "loss": terms["total"],
                        "part_loss": terms["part_loss"], "locref_loss": terms["locref_loss"],
                        "lr": float(self._schedule(self.step)),
                        "images_per_s": rate * tc.batch_size,
                        "eta_s": (tc.maxiters - self.step) / rate if rate > 0 else float("nan"),
                        "elapsed_s": now - start, "snapshot": snapshot,
                        **{k: terms[k] for k in ("paf_loss", "id_loss") if k in terms},
                    }  # fmt: skip
            if self.ma_spec is not None and tc.paf_graph == "pruned":
                self.prune_graph()
        finally:
            if self.step > self.saved_step:  # stopped early (closed generator, Ctrl-C, error)
                try:
                    self.save()
                    log.info("Saved the interrupted run at step %d", self.step)
                except Exception:  # noqa: BLE001 - never mask the original error
                    log.exception("Could not save the interrupted run at step %d", self.step)


_DLC_ONLY = ("allow_growth", "gputouse", "autotune", "keepdeconvweights", "modelprefix",
             "engine", "device")  # fmt: skip


def iter_train(
    config: str | os.PathLike,
    shuffle: int = 1,
    trainingsetindex: int = 0,
    maxiters: int | None = None,
    displayiters: int | None = None,
    saveiters: int | None = None,
    batch_size: int | None = None,
    net_type: str | None = None,
    max_snapshots_to_keep: int | None = None,
    resume: bool = True,
    keep_old_run: bool = True,
    **overrides: Any,
) -> Iterator[dict[str, Any]]:
    """`train_network` as a generator of progress dicts (for tqdm, napari's thread_worker).

    Nothing happens until the first ``next()``; closing the generator saves the run so far.
    ``overrides`` are further `TrainConfig` fields (``lr=...``, ``crop_size=...``). When the
    run starts over (``resume=False``), an earlier run's files are moved aside
    (`checkpoint.move_old_run`; the first progress dict's ``"moved_old_run"`` names the
    folder) or deleted with ``keep_old_run=False``.
    """
    for key in _DLC_ONLY:
        overrides.pop(key, None)
    moved = None
    if not resume:
        from markerless.training.dataset import _load, model_folder, train_fraction_of

        cfg, project = _load(config)
        train_dir = project / model_folder(cfg, train_fraction_of(cfg, trainingsetindex),
                                           shuffle) / "train"
        moved = ckpt.move_old_run(train_dir, discard=not keep_old_run)
        if moved is not None:
            log.info("Moved the earlier run of shuffle %s to %s", shuffle, moved)
    trainer = Trainer(config, shuffle, trainingsetindex, resume=resume, maxiters=maxiters,
                      displayiters=displayiters, saveiters=saveiters, batch_size=batch_size,
                      net_type=net_type, max_snapshots_to_keep=max_snapshots_to_keep,
                      **overrides)  # fmt: skip
    for i, info in enumerate(trainer.run()):
        yield {**info, "moved_old_run": moved} if i == 0 else info


def train_network(
    config: str | os.PathLike,
    shuffle: int = 1,
    trainingsetindex: int = 0,
    max_snapshots_to_keep: int | None = 5,
    displayiters: int | None = None,
    saveiters: int | None = None,
    maxiters: int | None = None,
    batch_size: int | None = None,
    net_type: str | None = None,
    resume: bool = True,
    progress: bool = True,
    keep_old_run: bool = True,
    **overrides: Any,
) -> Path | None:
    """Train a shuffle's network (DeepLabCut's ``train_network``); returns the last snapshot.

    Parameters as in DeepLabCut; ``None`` keeps the recipe's value from ``pose_cfg.yaml``.
    ``resume`` continues an interrupted run from ``train/train_state.msgpack``; with
    ``resume=False`` an earlier run's snapshots move to ``train/previous-<time>/`` (deleted
    with ``keep_old_run=False``) so two runs never mix. ``progress`` shows a tqdm bar with
    the loss and ETA. ``init_weights`` (DLC's) starts from an exported model folder or a
    snapshot, keypoints matched by name (`markerless.training.init_weights`).
    """
    from tqdm.auto import tqdm

    from markerless.training.snapshots import list_snapshots

    gen = iter_train(config, shuffle, trainingsetindex, maxiters, displayiters, saveiters,
                     batch_size, net_type, max_snapshots_to_keep, resume, keep_old_run,
                     **overrides)
    bar = None
    model_dir = None
    try:
        for info in gen:
            if bar is None:
                bar = tqdm(total=info["maxiters"], disable=not progress, unit="step",
                           initial=0, desc=f"shuffle {shuffle}")
            bar.n = info["step"]
            bar.set_postfix(loss=f"{info['loss']:.4f}", lr=f"{info['lr']:.2e}",
                            img_s=f"{info['images_per_s']:.1f}")
            bar.refresh()
            if info["snapshot"]:
                model_dir = Path(info["snapshot"]).parent
    finally:
        gen.close()
        if bar is not None:
            bar.close()
    if model_dir is None:
        from markerless.training.dataset import _load, model_folder, train_fraction_of

        cfg, project = _load(config)
        model_dir = project / model_folder(cfg, train_fraction_of(cfg, trainingsetindex), shuffle)
    snaps = list_snapshots(model_dir)
    return snaps[-1] if snaps else None
