"""CLI verbs of training and evaluation: create-training-dataset, train, evaluate."""

from __future__ import annotations

import argparse

from markerless.cli import command
from markerless.cli._args import (
    choice_of,
    config_file,
    nonnegative_int,
    positive_int,
    snapshot_index,
)


def shuffle_args(p: argparse.ArgumentParser) -> None:
    """``--shuffle`` and ``--trainingsetindex``, as in DeepLabCut."""
    p.add_argument("--shuffle", type=positive_int, default=1)
    p.add_argument("--trainingsetindex", type=nonnegative_int, default=0)


def _recipes() -> list[str]:
    from markerless.training.recipes import PRESETS

    return list(PRESETS)


def _net_types() -> list[str]:
    from markerless.model.registry import NET_TYPES

    return list(NET_TYPES)


def _ctd_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=config_file)
    p.add_argument("--num-shuffles", type=positive_int, default=1)
    p.add_argument("--net-type", type=choice_of(_net_types(), "network"), default=None)
    p.add_argument("--recipe", type=choice_of(_recipes(), "recipe"), default="default",
                   help="training recipe: " + ", ".join(_recipes()))
    p.add_argument("--trainingsetindex", type=nonnegative_int, default=None,
                   help="only this TrainingFraction (index); default: all of them")
    p.add_argument("--paf-graph", type=choice_of(["full", "pruned", "skeleton"], "graph"),
                   default=None, help="multi-animal part-affinity graph (default: full)")


@command("create-training-dataset", "split labeled frames into train/test sets", _ctd_args)
def _ctd(ns: argparse.Namespace) -> int:
    from markerless.training.dataset import create_training_dataset

    for frac, shuffle, (train, test) in create_training_dataset(
        ns.config, num_shuffles=ns.num_shuffles, net_type=ns.net_type, recipe=ns.recipe,
        trainingsetindex=ns.trainingsetindex, paf_graph=ns.paf_graph,
    ):
        print(f"TrainingFraction {frac} shuffle {shuffle}: {len(train)} train, {len(test)} test")
    return 0


def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=config_file)
    shuffle_args(p)
    p.add_argument("--maxiters", type=positive_int, default=None)
    p.add_argument("--displayiters", type=positive_int, default=None)
    p.add_argument("--saveiters", type=positive_int, default=None)
    p.add_argument("--batch-size", type=positive_int, default=None)
    p.add_argument("--net-type", type=choice_of(_net_types(), "network"), default=None)
    p.add_argument("--no-resume", action="store_true", help="start over instead of resuming")
    p.add_argument("--discard-old-run", action="store_true",
                   help="with --no-resume: delete the earlier run's snapshots instead of "
                        "moving them to train/previous-<time>/")


@command("train", "train (or resume training) a shuffle's network", _train_args)
def _train(ns: argparse.Namespace) -> int:
    from markerless.training.trainer import train_network

    snap = train_network(ns.config, shuffle=ns.shuffle, trainingsetindex=ns.trainingsetindex,
                         maxiters=ns.maxiters, displayiters=ns.displayiters,
                         saveiters=ns.saveiters, batch_size=ns.batch_size,
                         net_type=ns.net_type, resume=not ns.no_resume,
                         keep_old_run=not ns.discard_old_run)
    print(snap)
    return 0


def _evaluate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=config_file)
    p.add_argument("--shuffles", type=positive_int, nargs="+", default=[1])
    p.add_argument("--trainingsetindex", type=nonnegative_int, default=0)
    p.add_argument("--plotting", action="store_true")
    p.add_argument("--snapshot-index", type=snapshot_index, default=None,
                   help="snapshot number (-1 or 'last' = newest) or 'all'")


@command("evaluate", "train/test RMSE, PCK and per-bodypart errors", _evaluate_args)
def _evaluate(ns: argparse.Namespace) -> int:
    from markerless.evaluation.evaluate import evaluate_network

    evaluate_network(ns.config, Shuffles=ns.shuffles, trainingsetindex=ns.trainingsetindex,
                     plotting=ns.plotting, snapshot_index=ns.snapshot_index)
    return 0
