"""Labeling dock: click keypoints onto extracted frames and save them DeepLabCut's way.

dock.py: LabelingWidget; state.py: what comes next, progress, skeleton (Qt-free);
saving.py: Save and the unsaved-labels guards; colors.py: colours, legend, skeleton;
keys.py: keypoint keys, Ctrl+S, close guard; check_labels_panel.py: the Check labels panel.
"""
