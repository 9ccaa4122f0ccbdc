"""Labeling dock: click keypoints onto extracted frames and save them DeepLabCut's way.

dock.py: LabelingWidget; ui.py: its widgets, the individual dropdown; habits.py: modes and
markerless' / napari-deeplabcut's keys and habits (Qt-free); state.py: what comes next,
progress, skeleton (Qt-free); editing.py + edits.py: clicks, copy/paste, undo; actions.py:
what the keys do; confidence.py: red rims on low-confidence machine labels; saving.py: Save
and the unsaved-labels guards; colors.py: colours, legend, skeleton; keys.py: key bindings,
Ctrl+S, close guard; check_labels_panel.py: the Check labels panel.
"""
