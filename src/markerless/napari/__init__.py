"""napari contributions (reader, writer, sample data, docks): a thin layer over markerless' API.

Only this package imports napari or Qt. Public: :mod:`.jupyter` (the notebook API) and
:mod:`.convert` (Poses <-> Points); the rest may move.

* one sub-package per dock: ``project``, ``frames``, ``labeling``, ``training``,
  ``analysis``, ``refine``, each with ``dock.py`` (the widget), ``jobs.py`` (its work,
  without Qt) and its panels; the widgets are registered in ``napari.yaml``;
* ``layers``: reader, writer, conversions, prediction layers, sample data, layer look-ups;
* shared pieces: ``workers`` (threads), ``job_panel`` (progress + Stop), ``forms`` (Qt
  builders, status line, one-line errors), ``session`` (the viewer's project), ``pickers``
  (project and training-fraction pickers), ``project_files`` (a project's videos, models,
  results), ``plots`` (matplotlib in a dock).

See docs/architecture.md ("The napari layer") for how to add a dock.
"""
