"""CollectedData_<scorer>.h5/.csv: real DeepLabCut files, exact round trips, safe saves."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tables
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fixtures.dlc import make_dlc_project, make_poses
from markerless.errors import DataLossError, LabelFileError
from markerless.io import dlc_tables
from markerless.io.atomic import backup_path
from markerless.io.dlc_labels import (
    find_label_loss,
    is_dlc_labels,
    labels_path,
    merge_labels,
    read_labels,
    write_labels,
)
from markerless.poses import Poses

FIXTURES = ["dlc_testdata", "madlc_testdata", "maudlc_testdata"]
NAN = np.nan


def _fixture(dlc_fixtures_dir: Path, name: str) -> Path:
    return dlc_fixtures_dir / "labeled-data" / "video" / f"{name}.csv"


# --- DeepLabCut's openfield project -----------------------------------------------
@pytest.mark.shared
def test_openfield_h5(openfield_dir):
    folder = openfield_dir / "labeled-data" / "m4s1"
    poses = read_labels(folder / "CollectedData_Pranav.h5")
    assert poses.n_frames == 116 and poses.scorer == "Pranav" and not poses.multianimal
    assert poses.bodyparts == [
        "snout",
        "leftear",
        "rightear",
        "tailbase",
    ]  # file order, not sorted
    assert poses.n_labeled == 464 and not np.isnan(poses.xy).any()
    assert poses.likelihood is None and poses.defined.all()
    assert poses.frames[0] == "labeled-data/m4s1/img0000.png"
    assert poses.frames[-1] == "labeled-data/m4s1/img0115.png"
    x, y = poses.xy[..., 0], poses.xy[..., 1]
    assert (x.min(), x.max()) == (10.248, 235.709)
    assert (round(y.min(), 1), round(y.max(), 1)) == (56.4, 460.7)
    # first data line of the CSV: 21.521,265.428,33.819,265.941,19.984,250.05599999999998,...
    assert poses.xy[0, 0].tolist() == [
        [21.521, 265.428],
        [33.819, 265.941],
        [19.984, 250.05599999999998],
        [87.11, 152.69799999999998],
    ]
    assert read_labels(folder / "CollectedData_Pranav.csv").equals(poses)
    assert read_labels(folder).equals(poses)  # the folder's single CollectedData file


@pytest.mark.shared
def test_openfield_rewrite_keeps_values(openfield_dir, tmp_path):
    poses = read_labels(openfield_dir / "labeled-data" / "m4s1" / "CollectedData_Pranav.h5")
    out = write_labels(poses, tmp_path)
    assert out == tmp_path / "CollectedData_Pranav.h5"
    df = pd.read_hdf(out, "df_with_missing")
    assert isinstance(df.index, pd.MultiIndex) and df.index.nlevels == 3  # DLC >= 2.2 layout
    assert df.index[0] == ("labeled-data", "m4s1", "img0000.png")
    assert list(df.columns.names) == ["scorer", "bodyparts", "coords"]
    assert read_labels(out).equals(poses) and read_labels(out.with_suffix(".csv")).equals(poses)


# --- SLEAP's DLC format fixtures ---------------------------------------------------
@pytest.mark.shared
def test_single_animal_fixture(dlc_fixtures_dir):
    # labeled-data/video/img001.png,12,13,,,15,16 / img002 empty / img003 22..27
    p = read_labels(_fixture(dlc_fixtures_dir, "dlc_testdata"))
    assert p.scorer == "Scorer" and p.bodyparts == ["A", "B", "C"] and p.individuals == [""]
    assert p.frames == [f"labeled-data/video/img00{i}.png" for i in range(4)]
    assert p.xy[0, 0].tolist() == [[0, 1], [2, 3], [4, 5]]
    np.testing.assert_array_equal(p.xy[1, 0], [[12, 13], [NAN, NAN], [15, 16]])
    assert np.isnan(p.xy[2]).all()
    assert p.xy[3, 0].tolist() == [[22, 23], [24, 25], [26, 27]]
    assert p.n_labeled == 8


@pytest.mark.shared
def test_multianimal_fixture(dlc_fixtures_dir):
    p = read_labels(_fixture(dlc_fixtures_dir, "madlc_testdata"))
    assert p.individuals == ["Animal1", "Animal2"] and p.bodyparts == ["A", "B", "C"]
    assert p.defined.all()
    # img001: Animal1 12,13,,,15,16  Animal2 17,18,,,20,21
    np.testing.assert_array_equal(p.xy[1, 1], [[17, 18], [NAN, NAN], [20, 21]])
    assert p.xy[3, 0, 2].tolist() == [26, 27] and np.isnan(p.xy[3, 1]).all()
    assert p.n_labeled == 13


@pytest.mark.shared
@pytest.mark.parametrize("name", ["maudlc_testdata", "maudlc_testdata_v2", "CollectedData_LM"])
def test_unique_bodyparts_fixture_with_ragged_rows(dlc_fixtures_dir, name):
    p = read_labels(_fixture(dlc_fixtures_dir, name))
    assert p.individuals == ["Animal1", "Animal2", "single"]
    assert p.bodyparts == ["A", "B", "C", "D", "E"]
    assert p.scorer == "Scorer"  # the file's scorer, not the config's "LM"
    assert p.defined.astype(int).tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 0, 0], [0, 0, 0, 1, 1]]
    # img001: ...,20,21,22,23,24,25 -> Animal2 C, single D, single E
    assert p.xy[1, 1, 2].tolist() == [20, 21]
    assert p.xy[1, 2, 3:].tolist() == [[22, 23], [24, 25]]
    # img003: 26..31 for Animal1, Animal2 empty, single 32..35
    assert p.xy[3, 0].tolist()[:3] == [[26, 27], [28, 29], [30, 31]]
    assert p.xy[3, 2, 3:].tolist() == [[32, 33], [34, 35]]
    assert np.isnan(p.xy[2]).all()  # the short, all-empty row
    assert np.isnan(p.xy[0, 2]).all()  # img000 has trailing empty single cells
    assert p.n_labeled == 17


@pytest.mark.shared
@pytest.mark.parametrize("name", FIXTURES)
def test_old_and_new_row_index_read_the_same(dlc_fixtures_dir, name):
    old = read_labels(_fixture(dlc_fixtures_dir, name))
    new = read_labels(_fixture(dlc_fixtures_dir, f"{name}_v2"))
    assert old.equals(new)


@pytest.mark.shared
def test_all_fixture_files_read_and_sniff(dlc_fixtures_dir):
    files = sorted((dlc_fixtures_dir / "labeled-data" / "video").glob("*.csv"))
    assert len(files) == 7
    for f in files:
        assert is_dlc_labels(f), f
        assert read_labels(f).n_frames == 4


@pytest.mark.shared
def test_fast_and_careful_csv_parsers_agree(dlc_fixtures_dir, openfield_dir, monkeypatch):
    files = sorted((dlc_fixtures_dir / "labeled-data" / "video").glob("*.csv"))
    files.append(openfield_dir / "labeled-data" / "m4s1" / "CollectedData_Pranav.csv")
    fast = [read_labels(f) for f in files]  # pandas' C parser (pads ragged rows itself)
    monkeypatch.setattr(dlc_tables, "_csv_body_fast", lambda *args: None)
    for f, expected in zip(files, fast, strict=True):
        assert read_labels(f).equals(expected), f.name


@pytest.mark.shared
def test_written_csv_matches_dlc_header_layout(dlc_fixtures_dir, tmp_path):
    src = _fixture(dlc_fixtures_dir, "maudlc_testdata_v2")
    out = write_labels(read_labels(src), tmp_path / "CollectedData_Scorer.h5")
    written = out.with_suffix(".csv").read_text().splitlines()
    original = src.read_text().splitlines()
    assert written[:4] == original[:4]  # scorer/individuals/bodyparts/coords rows, 3 index columns
    assert written[5] == "labeled-data,video,img001.png," + ",".join(
        f"{v}.0" if v else "" for v in original[5].split(",")[3:]
    )


# --- exact round trips -------------------------------------------------------------
_NAME = st.text(
    st.characters(codec="utf-8", exclude_categories=("C", "Z")) | st.sampled_from(" ,\"'"),
    min_size=1,
    max_size=6,
).filter(lambda s: s.strip() == s and s not in ("single", "nan"))
_PART = _NAME.filter(lambda s: "/" not in s and "\\" not in s)


@st.composite
def label_sets(draw) -> Poses:
    names = draw(st.lists(_NAME, min_size=1, max_size=6, unique=True))
    multi = draw(st.booleans())
    n_unique = draw(st.integers(0, min(2, len(names) - 1))) if multi else 0
    individuals = draw(st.lists(_NAME, min_size=1, max_size=3, unique=True)) if multi else [""]
    defined = np.ones((len(individuals), len(names)), dtype=bool)
    if n_unique:
        individuals = individuals + ["single"]
        defined = np.ones((len(individuals), len(names)), dtype=bool)
        defined[:-1, -n_unique:] = False
        defined[-1, :-n_unique] = False
    kind = draw(st.sampled_from(["paths", "flat", "ints"]))
    n = draw(st.integers(0, 5))
    if kind == "paths":
        frames = [
            f"labeled-data/{v}/{i}"
            for v, i in draw(
                st.lists(st.tuples(_PART, _PART), min_size=n, max_size=n, unique=True)
            )
        ]
    elif kind == "flat":
        frames = draw(st.lists(_PART, min_size=n, max_size=n, unique=True))
    else:
        frames = draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n, unique=True))
    shape = (n, len(individuals), len(names), 2)
    finite = st.floats(-1e12, 1e12, allow_nan=False) | st.sampled_from(
        [5e-324, -0.0, 1 / 3, 1e300]
    )
    xy = draw(hnp.arrays(np.float64, shape, elements=finite | st.just(NAN)))
    xy[:, ~defined] = NAN  # columns that do not exist in the file
    return Poses(xy, names, individuals, frames, draw(_NAME), None, defined)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(poses=label_sets())
def test_write_then_read_is_exact(poses):
    with tempfile.TemporaryDirectory() as tmp:
        h5 = write_labels(poses, Path(tmp) / "CollectedData_x.h5")
        for path in (h5, h5.with_suffix(".csv")):
            back = read_labels(path)
            assert back.equals(poses), path.suffix
            assert np.array_equal(np.signbit(back.xy), np.signbit(poses.xy))  # even -0.0


def test_synthetic_project_builder(tmp_path):
    proj = make_dlc_project(
        tmp_path,
        "Jo",
        ["a", "b"],
        individuals=["m1", "m2"],
        unique_bodyparts=["u"],
        videos=("v1", "v2"),
        n_frames=2,
    )
    assert proj.label_paths["v2"] == labels_path(proj.root, "v2", "Jo")
    assert proj.label_paths["v2"] == proj.root / "labeled-data" / "v2" / "CollectedData_Jo.h5"
    for video in ("v1", "v2"):
        assert read_labels(proj.label_paths[video]).equals(proj.labels[video])
        assert [p.name for p in proj.images[video]] == ["img000.png", "img001.png"]
    assert proj.labels["v1"].individuals == ["m1", "m2", "single"]


# --- safe saving ---------------------------------------------------------------------
@pytest.fixture
def saved(tmp_path) -> tuple[Poses, Path]:
    frames = [f"labeled-data/v/img{i}.png" for i in range(4)]
    poses = make_poses(frames, ["a", "b", "c"], ["m1", "m2"], nan_fraction=0.0, seed=1)
    return poses, write_labels(poses, tmp_path)


def test_save_location_and_backup(saved, tmp_path):
    poses, path = saved
    assert path == tmp_path / "CollectedData_tester.h5"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "CollectedData_tester.csv",
        "CollectedData_tester.h5",
    ]
    more = poses.copy()
    more.xy[0, 0, 0] = [1.5, 2.5]  # moving a point is not a loss
    write_labels(more, path)
    assert read_labels(path).equals(more) and read_labels(path.with_suffix(".csv")).equals(more)
    # the previous versions stay readable as backups
    assert read_labels(backup_path(path)).equals(poses)
    assert read_labels(backup_path(path.with_suffix(".csv"))).equals(poses)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda p: p.select_frames([0, 1, 3]), ["frames missing", "labeled-data/v/img2.png"]),
        (lambda p: Poses(p.xy[:, :, :2], ["a", "b"], p.individuals, p.frames, p.scorer),
         ["bodyparts missing", "'c'"]),
        (lambda p: Poses(p.xy[:, :1], p.bodyparts, ["m1"], p.frames, p.scorer),
         ["individuals missing", "'m2'"]),
        (lambda p: _with(p, (2, 1, 1), NAN), ["1 labeled point", "img2.png", "'b' of 'm2'"]),
    ],
)  # fmt: skip
def test_dropping_labels_needs_overwrite(saved, change, words):
    poses, path = saved
    new = change(poses)
    with pytest.raises(DataLossError) as info:
        write_labels(new, path)
    for w in words:
        assert w in str(info.value)
    assert read_labels(path).equals(poses)  # nothing written
    write_labels(new, path, overwrite=True)
    assert read_labels(path).equals(new)


def _with(p: Poses, where: tuple, value: float) -> Poses:
    q = p.copy()
    q.xy[where] = value
    return q


def test_reordering_and_adding_is_not_a_loss(saved):
    poses, path = saved
    reordered = Poses(
        poses.xy[::-1][:, ::-1][:, :, ::-1],
        poses.bodyparts[::-1],
        poses.individuals[::-1],
        poses.frames[::-1],
        "someone_else",
    )
    assert find_label_loss(poses, reordered) is None
    bigger = merge_labels(poses, make_poses(["labeled-data/v/new.png"], ["a", "z"], ["m1", "m3"]))
    write_labels(bigger, path)
    assert read_labels(path).equals(bigger)


def test_duplicate_frames_are_refused(tmp_path):
    poses = make_poses(["labeled-data/v/a.png", "labeled-data\\v\\a.png"], ["a"])
    with pytest.raises(ValueError, match="'labeled-data/v/a.png' appears twice"):
        write_labels(poses, tmp_path)
    nothing = make_poses(["f.png"], ["a"], defined=np.zeros((1, 1), bool))
    with pytest.raises(ValueError, match="no .* column is defined"):
        write_labels(nothing, tmp_path)
    assert not list(tmp_path.iterdir())


def test_unreadable_file_on_disk_needs_overwrite(tmp_path):
    path = tmp_path / "CollectedData_x.h5"
    path.write_bytes(b"not hdf5")
    poses = make_poses(["f.png"], ["a"], scorer="x")
    with pytest.raises(DataLossError, match="Cannot check"):
        write_labels(poses, path)
    write_labels(poses, path, overwrite=True)
    assert read_labels(path).equals(poses)


def test_merge_labels_new_wins_where_labeled():
    old = Poses(
        np.array([[[[1.0, 1], [2, 2]]], [[[3, 3], [NAN, NAN]]]]),
        ["a", "b"],
        ["m1"],
        ["f0", "f1"],
        "Jo",
    )
    new = Poses(
        np.array([[[[9.0, 9], [NAN, NAN], [7, 7]]], [[[NAN, NAN], [NAN, NAN], [NAN, NAN]]]]),
        ["a", "b", "c"],
        ["m1"],
        ["f1", "f2"],
        "Al",
    )
    m = merge_labels(old, new)
    assert m.frames == ["f0", "f1", "f2"] and m.bodyparts == ["a", "b", "c"] and m.scorer == "Jo"
    np.testing.assert_array_equal(m.xy[:, 0, :, 0], [[1, 2, NAN], [9, NAN, 7], [NAN, NAN, NAN]])
    assert m.likelihood is None and m.defined.all()


def test_merge_keeps_single_last_and_likelihood():
    old = make_poses(
        ["f0"],
        ["a", "u"],
        ["m1", "single"],
        np.array([[1, 0], [0, 1]], bool),
        nan_fraction=0.0,
        likelihood=True,
    )
    new = make_poses(["f0"], ["a"], ["m2"], nan_fraction=0.0, seed=3)
    m = merge_labels(old, new)
    assert m.individuals == ["m1", "m2", "single"]
    assert m.defined.astype(int).tolist() == [[1, 0], [1, 0], [0, 1]]
    assert m.likelihood[0, 0, 0] == old.likelihood[0, 0, 0] and np.isnan(m.likelihood[0, 1, 0])
    with pytest.raises(ValueError, match="single-animal"):
        merge_labels(make_poses(["f0"], ["a"]), new)


# --- malformed files --------------------------------------------------------------------
_HEAD = "scorer,S,S,S,S\nbodyparts,a,a,b,b\ncoords,x,y,x,y\n"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("scorer,S,S\nbodypart,a,a\ncoords,x,y\nf0,1,2\n", ["header rows", "bodypart"]),
        ("bodyparts,a,a\ncoords,x,y\nf0,1,2\n", ["header rows"]),
        (_HEAD + "f0,1,2,3,4\nf1,1,oops,3,4\n", ["row 5", "column 3", "a/y", "'oops'"]),
        (
            "scorer,S,S,S\nbodyparts,a,a,b\ncoords,x,y,x\nf0,1,2,3\n",
            ["'b'", "['x']", "odd number"],
        ),
        ("scorer,S,S\nbodyparts,a,a\ncoords,x,z\nf0,1,2\n", ["column 3", "'z'"]),
        ("scorer,S,S,S\nbodyparts,a,a,a\ncoords,x,y,x\nf0,1,2,3\n", ["column 4", "duplicate"]),
        (_HEAD + "f0,1,2,3,4,5\n", ["row 4 has 6 cells"]),
        (_HEAD + "f0,1,2,3,4\nf0,1,2,3,4\n", ["'f0' appears twice"]),
        ("scorer,S,S,T,T\nbodyparts,a,a,b,b\ncoords,x,y,x,y\nf0,1,2,3,4\n", ["several scorers"]),
        ("scorer,S,S\nbodyparts,,\ncoords,x,y\nf0,1,2\n", ["row 2", "column 2 is empty"]),
        ("scorer\nbodyparts\ncoords\n", ["no coordinate columns"]),
    ],
)
def test_malformed_csv_names_file_row_and_column(tmp_path, text, words):
    path = tmp_path / "CollectedData_S.csv"
    path.write_text(text)
    with pytest.raises(LabelFileError) as info:
        read_labels(path)
    message = str(info.value)
    assert str(path) in message
    for w in words:
        assert w in message
    assert is_dlc_labels(path) in (True, False)  # the sniffer never raises


def test_tolerated_csv_quirks(tmp_path):
    # BOM, CRLF, blank and comma-only lines, trailing empty cells, "nan" text, Windows paths
    text = (
        "\ufeffscorer,S,S,S,S\r\n\r\nbodyparts,a,a,b,b\r\ncoords,x,y,x,y\r\n"
        "labeled-data\\v\\i0.png,1.5,2,nan,NaN,,\r\n,,,,\r\nlabeled-data\\v\\i1.png,3,4,5,6\r\n\r\n"
    )
    path = tmp_path / "CollectedData_S.csv"
    path.write_bytes(text.encode("utf-8"))
    p = read_labels(path)
    assert p.frames == ["labeled-data/v/i0.png", "labeled-data/v/i1.png"]
    np.testing.assert_array_equal(p.xy[:, 0], [[[1.5, 2], [NAN, NAN]], [[3, 4], [5, 6]]])


def test_bad_h5_files(tmp_path):
    no_pandas = tmp_path / "sleap.h5"
    with tables.open_file(no_pandas, "w") as f:
        f.create_array("/", "tracks", np.zeros((2, 3)))
    wrong_levels = tmp_path / "two_levels.h5"
    pd.DataFrame(
        np.zeros((2, 2)), columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")])
    ).to_hdf(wrong_levels, key="df_with_missing")
    text = tmp_path / "strings.h5"
    cols = pd.MultiIndex.from_tuples(
        [("S", "a", "x"), ("S", "a", "y")], names=["scorer", "bodyparts", "coords"]
    )
    pd.DataFrame([["1", "b"]], columns=cols, dtype=object).to_hdf(text, key="df_with_missing")
    for path, match in [
        (no_pandas, "no DeepLabCut table"),
        (wrong_levels, "2 levels"),
        (text, r"column \('S', 'a', 'y'\), row 0: 'b' is not a number"),
        (tmp_path / "missing.h5", "does not exist"),
    ]:
        with pytest.raises(LabelFileError, match=match):
            read_labels(path)
        assert not is_dlc_labels(path)


def test_sniffer(tmp_path, saved):
    poses, path = saved
    assert is_dlc_labels(path) and is_dlc_labels(str(path.with_suffix(".csv")))
    write_labels(poses, path)  # makes CollectedData_tester.h5.bak: a backup, not a label file
    assert backup_path(path).exists()
    (tmp_path / "notes.txt").write_text(_HEAD)
    (tmp_path / "garbage.h5").write_bytes(b"\x89HDF\r\n\x1a\n garbage")
    (tmp_path / "empty.csv").write_text("")
    for p in [
        "notes.txt",
        "garbage.h5",
        "empty.csv",
        "nothing.csv",
        ".",
        "CollectedData_tester.h5.bak",
    ]:
        assert not is_dlc_labels(tmp_path / p), p
    assert not is_dlc_labels(None)  # type: ignore[arg-type]


def test_folder_with_several_label_files(tmp_path):
    for s in ("A", "B"):
        write_labels(make_poses(["f.png"], ["a"], scorer=s), tmp_path)
    with pytest.raises(LabelFileError, match="several label files"):
        read_labels(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(LabelFileError, match="No CollectedData"):
        read_labels(tmp_path / "empty")
