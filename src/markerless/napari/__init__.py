"""napari contributions (reader, writer, sample data, docks): a thin layer over markerless' API.

Only this package imports napari or Qt.
"""
