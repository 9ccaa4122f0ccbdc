"""Everything that makes or reads napari layers, in one place.

* :mod:`.convert`: :class:`~markerless.poses.Poses` <-> Points layer data (the one
  place where DeepLabCut's ``(x, y)`` becomes napari's ``(frame, y, x)``);
* :mod:`.reader` / :mod:`.writer`: the npe2 reader (videos, label and analysis
  files, projects) and writer (a keypoints layer -> CollectedData .h5 + .csv);
* :mod:`.predictions`: analysis results as Image + Points + Tracks layers;
* :mod:`.sample_data`: File > Open Sample > markerless;
* :mod:`.lookup`: what markerless records on its layers and finding layers by it;
* :mod:`.labeled_folder`: a labeled-data folder's frames, keypoints and skeleton layers.

The docks (``markerless.napari.<dock>``) build on these; nothing here imports a dock.
"""
