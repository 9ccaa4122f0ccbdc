"""No raw traceback reaches a user of the CLI: every verb, walked with bad arguments.

The verbs and their options are read from the parser itself, so a verb added later is
walked too. Each bad call must end with exit code 2 (the user's input) and a message
on stderr, never a Python traceback.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from markerless.cli import _args as types
from markerless.cli import analysis as analysis_verbs
from markerless.cli import build_parser, main, verbs

#: bad values for each argument type the CLI uses
BAD_VALUES = {
    types.positive_int: ["0", "-1", "abc", "1.5"],
    types.nonnegative_int: ["-1", "x"],
    types.positive_float: ["0", "-2", "nan", "inf"],
    types.probability: ["-0.1", "1.5", "high"],
    types.snapshot_index: ["newest-but-one", "1.5"],
    analysis_verbs.batch_size: ["0", "-3", "fast"],
}


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _positional_values(p: argparse.ArgumentParser, path: str) -> list[str]:
    out = []
    for a in p._actions:
        if a.option_strings or a.dest in ("help",):
            continue
        out.append(path)
    return out


#: verbs whose positional arguments are names of a new project
MAKES_PROJECTS = {"create-project", "create-project-3d"}


def _bad_option_cases() -> list[tuple[str, list[str]]]:
    cases = []
    for verb, p in _subparsers().items():
        for a in p._actions:
            for value in BAD_VALUES.get(a.type, []):
                cases.append((verb, [a.option_strings[-1], value]))
    return cases


def _assert_clean(capsys, code: int, expect: tuple[int, ...] = (2,)) -> str:
    """Exit code ``expect``ed, no traceback, and a message: an error on stderr for 2, a
    report (stdout or stderr) for 1."""
    out, err = capsys.readouterr()
    assert code in expect, (code, out, err)
    assert "Traceback" not in err and "Traceback" not in out
    if code == 2:
        assert "error" in err.lower(), err
    else:
        assert (out + err).strip()
    return err


def test_every_verb_is_registered_once():
    names = verbs()
    assert len(names) == len(set(names))
    for expected in ["demo", "create-project", "train", "analyze", "doctor"]:
        assert expected in names


@pytest.mark.parametrize("verb", verbs())
def test_missing_arguments_are_a_usage_error(verb, capsys):
    p = _subparsers()[verb]
    required = [a for a in p._actions if not a.option_strings and a.dest != "help"]
    if not required:
        pytest.skip(f"{verb} has no required arguments")
    with pytest.raises(SystemExit) as exc:
        main([verb])
    _assert_clean(capsys, exc.value.code)


@pytest.mark.parametrize("verb", verbs())
def test_missing_files_name_the_file(verb, tmp_path, capsys):
    p = _subparsers()[verb]
    missing = str(tmp_path / "no-such-project" / "config.yaml")
    argv = [verb, *_positional_values(p, missing)]
    if len(argv) == 1:
        pytest.skip(f"{verb} takes no paths")
    if verb == "create-project":  # project and experimenter are names, the videos paths
        argv = [verb, "name", "me", missing]
    if verb in MAKES_PROJECTS - {"create-project"}:
        pytest.skip(f"{verb} takes names, not files")
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    err = _assert_clean(capsys, code)
    assert "no-such-project" in err


@pytest.mark.parametrize(("verb", "option"), _bad_option_cases(),
                         ids=[f"{v} {' '.join(o)}" for v, o in _bad_option_cases()])
def test_bad_option_values_fail_at_parse_time(verb, option, tmp_path, capsys):
    p = _subparsers()[verb]
    config = tmp_path / "config.yaml"
    config.write_text("Task: t\n")
    argv = [verb, *_positional_values(p, str(config)), *option]
    if verb == "create-project":
        argv = [verb, "name", "me", str(config), *option]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = _assert_clean(capsys, exc.value.code)
    assert option[0] in err  # names the flag


@pytest.fixture(scope="module")
def odd_project(tmp_path_factory) -> Path:
    """A real project with a video and nothing else: no labels, no model, no results."""
    from markerless import synthetic
    from markerless.project.create import create_new_project

    root = tmp_path_factory.mktemp("odd")
    video = root / "clip.mp4"
    synthetic.write_clip(video, synthetic.SyntheticConfig(n_frames=12, seed=1), gop=6)
    return Path(create_new_project("odd", "me", [video], working_directory=root,
                                   copy_videos=True))


#: verbs that legitimately do work on an empty project (or are not about one)
RUNS_ON_EMPTY = {"demo", "doctor", "probe", "reencode", "create-project", "add-videos",
                 "extract-frames", "create-project-3d"}


@pytest.mark.parametrize("verb", sorted(set(verbs()) - RUNS_ON_EMPTY))
def test_verbs_on_a_project_without_labels_or_model_explain(verb, odd_project, capsys):
    """Every verb that needs labels, a model or results says so on a bare project."""
    p = _subparsers()[verb]
    video = odd_project.parent / "videos" / "clip.mp4"
    argv = [verb]
    for a in p._actions:
        if a.option_strings or a.dest == "help":
            continue
        argv.append(str(video) if "video" in a.dest else str(odd_project))
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    _assert_clean(capsys, code, expect=(1, 2))


def test_broken_config_yaml_names_the_file_and_key(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text("Task: t\nscorer: me\nTrainingFraction: [lots]\n")
    code = main(["create-training-dataset", str(config)])
    err = _assert_clean(capsys, code)
    assert "config.yaml" in err and "TrainingFraction" in err


def test_an_unexpected_failure_is_one_line_with_a_hint_and_debug_shows_it(monkeypatch, capsys):
    def boom(ns):
        raise ZeroDivisionError("division by zero")

    parser_handlers = {"probe": boom}
    from markerless.cli import _COMMANDS

    monkeypatch.setattr("markerless.cli._COMMANDS",
                        [(n, h, a, parser_handlers.get(n, f)) for n, h, a, f in _COMMANDS])
    code = main(["probe", "x.mp4"])
    err = capsys.readouterr().err
    assert code == 3 and "Traceback" not in err
    assert "internal error (ZeroDivisionError: division by zero)" in err
    assert "--debug" in err and "markerless doctor" in err
    with pytest.raises(ZeroDivisionError):
        main(["probe", "x.mp4", "--debug"])
    with pytest.raises(ZeroDivisionError):
        main(["--debug", "probe", "x.mp4"])


def test_the_console_script_prints_no_traceback(tmp_path):
    exe = Path(sys.executable).parent / "markerless"
    out = subprocess.run([str(exe), "train", str(tmp_path / "missing.yaml")],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and "missing.yaml" in out.stderr


def test_doctor_reports_versions_devices_video_qt_and_plugin(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    for needle in ("markerless 0.", "jax ", "jax devices: cpu", "video decoding: PyAV",
                   "ffmpeg binary:", "Qt: ", "napari plugin: registered"):
        assert needle in out, needle
