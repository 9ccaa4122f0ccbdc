"""Labeling tests never read or write the user's remembered habits (Qt settings)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _habits_in_memory(monkeypatch):
    from markerless.napari.labeling import dock, ui

    store = {"habits": ui.MARKERLESS}
    monkeypatch.setattr(dock, "saved_habits", lambda: store["habits"])
    monkeypatch.setattr(dock, "save_habits", lambda habits: store.update(habits=habits))
    return store
