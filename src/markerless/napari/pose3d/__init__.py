"""The 3D docks: calibrate N cameras, triangulate, and view the animal in 3D and per camera.

calibration_dock.py: CalibrationWidget; triangulation_dock.py: TriangulationWidget;
camera_view.py: the camera views beside the 3D view; jobs.py: their work (Qt-free);
session3d.py: the 3D project both docks share. The layers are in napari/layers/pose3d.py.
"""
