"""How the Labeling dock behaves: advance modes and the two sets of keys and habits.

The modes are napari-deeplabcut's, with their names and meanings:

* ``sequential``: the keypoints of a frame one after another (the next one not placed
  yet); a click for a keypoint already on the frame places nothing;
* ``quick``: the same, but a click for a keypoint already on the frame moves it there,
  and the next keypoint is the following one even if placed (correcting labels one by
  one);
* ``loop``: one keypoint frame after frame; after the last frame the next keypoint
  from the first frame.

Two sets of *habits* say how the rest goes. ``markerless`` (the default) keeps what this
dock always did: any click for a placed keypoint moves it, a frame done goes on to the
next frame, the current keypoint stays when you change frames, and napari's own keys
(S select mode, A select all on the frame) stay. ``napari-deeplabcut`` is that plugin's
behaviour: only QUICK moves placed keypoints, the dock stays on a finished frame (D goes
on), each new frame starts at its first unlabeled keypoint (except in LOOP), and its keys
(A/D frames, W/S keypoints, E confidence edges). The old names map as: our old
"sequential" is ``sequential`` with markerless habits, the old "quick" is ``loop``, the
old "loop" is ``sequential`` without *next frame when done*.
"""

from __future__ import annotations

from dataclasses import dataclass

MODES = ("sequential", "quick", "loop")
MODE_HELP = {
    "sequential": "the next keypoint not yet placed on this frame; a click for a placed "
                  "keypoint places nothing (markerless habits: moves it)",
    "quick": "the next keypoint, placed or not; a click for a placed keypoint moves it",
    "loop": "the same keypoint on the next frame; after the last frame the next keypoint",
}

#: (napari key, dock action) bound on the keypoints layer whatever the habits
COMMON_KEYS: tuple[tuple[str, str], ...] = (
    ("Up", "prev_keypoint"), ("Down", "next_keypoint"),
    ("M", "cycle_mode"), ("F", "cycle_colors"),
    ("Shift-Left", "prev_unlabeled_frame"), ("Shift-Right", "next_unlabeled_frame"),
    ("Control-C", "copy_points"), ("Control-V", "paste_points"), ("Control-Z", "undo"),
)


@dataclass(frozen=True)
class Habits:
    """A set of keys and behaviours (see the module docstring)."""

    name: str
    keys: tuple[tuple[str, str], ...]
    #: default of "next frame when done": a frame with every keypoint placed goes on
    advance_frames: bool
    #: on a new frame the current keypoint becomes its first unlabeled one (not in loop)
    follow_frame: bool
    #: modes in which a click for a keypoint already on the frame moves it
    moves_placed: tuple[str, ...]
    #: keys also bound on the viewer (they act whatever layer is selected)
    viewer_keys: tuple[tuple[str, str], ...] = ()

    def moves(self, mode: str) -> bool:
        return mode in self.moves_placed


MARKERLESS = Habits(
    "markerless", COMMON_KEYS + (("E", "next_unlabeled"),),
    advance_frames=True, follow_frame=False, moves_placed=MODES)
NAPARI_DEEPLABCUT = Habits(
    "napari-deeplabcut",
    COMMON_KEYS + (("W", "prev_keypoint"), ("S", "next_keypoint"), ("A", "prev_frame"),
                   ("D", "next_frame"), ("E", "toggle_confidence_edges")),
    advance_frames=False, follow_frame=True, moves_placed=("quick",),
    viewer_keys=(("A", "prev_frame"), ("D", "next_frame")))
HABITS = {h.name: h for h in (MARKERLESS, NAPARI_DEEPLABCUT)}

#: (keys, what they do) as listed in the dock and docs/napari.md, per habits
_SHARED_DOCS = [
    ("Click", "place the current keypoint (add mode)"),
    ("Up / Down", "previous / next keypoint"),
    ("M", "next mode: SEQUENTIAL, QUICK, LOOP"),
    ("F", "colour by bodypart / individual (multi-animal)"),
    ("V", "show / hide the selected layer (napari)"),
    ("Shift+Left / Right", "previous / next frame with no label yet"),
    ("Ctrl+C / Ctrl+V", "copy the selected points (none selected: the frame's) / paste "
                        "them on this frame where their keypoint is not placed yet"),
    ("Ctrl+Z", "undo the last placement, move, paste or deletion"),
    ("Ctrl+S", "save the labels (CollectedData .h5 + .csv)"),
    ("Left / Right", "previous / next frame"),
    ("Delete or Backspace", "delete the selected points"),
]
SHORTCUT_DOCS: dict[str, list[tuple[str, str]]] = {
    "markerless": _SHARED_DOCS + [
        ("E", "next unlabeled keypoint (this frame, then the next frames)"),
        ("P or 2 / S or 3", "add mode / select mode (drag points to move them)"),
        ("A", "select all points on this frame (napari)"),
    ],
    "napari-deeplabcut": _SHARED_DOCS + [
        ("W / S", "previous / next keypoint"),
        ("A / D", "previous / next frame"),
        ("E", "show / hide the low-confidence edge of machine labels"),
        ("P or 2 / 3", "add mode / select mode"),
    ],
}
