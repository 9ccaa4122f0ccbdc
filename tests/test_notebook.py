"""docs/notebooks/markerless-in-jupyter.ipynb runs from top to bottom in a fresh kernel.

The kernel is this interpreter (a kernelspec written into a temporary JUPYTER_PATH), so
the notebook sees the same installed markerless; it inherits DISPLAY from pytest-xvfb.

Headless execution of ``%gui qt`` notebooks can hang (jupyter/nbclient#97): ipykernel's Qt
loop sleeps in ``exec()`` until its socket notifier fires, and a reply queued just before
can wait there forever. A test-only IPython startup file wakes that loop every 50 ms.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
NOTEBOOK = DOCS / "notebooks" / "markerless-in-jupyter.ipynb"

pytestmark = [pytest.mark.gui, pytest.mark.slow]


def _kernel(tmp_path: Path, monkeypatch) -> str:
    """A kernelspec for ``sys.executable``, found through JUPYTER_PATH."""
    name = "markerless-test"
    folder = tmp_path / "jupyter" / "kernels" / name
    folder.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "markerless (test)", "language": "python"}
    (folder / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return name


QT_WAKEUP = """
def _markerless_wake_qt_loop(*_):
    from ipykernel.kernelapp import IPKernelApp

    kernel = IPKernelApp.instance().kernel
    app = getattr(kernel, "app", None)
    if app is None or hasattr(kernel, "_markerless_wakeup"):
        return
    from qtpy.QtCore import QTimer

    kernel._markerless_wakeup = timer = QTimer(app)
    timer.timeout.connect(app.qt_event_loop.quit)  # the kernel re-enters it at once
    timer.start(50)


get_ipython().events.register("post_run_cell", _markerless_wake_qt_loop)
"""


def _ipython_dir(tmp_path: Path, monkeypatch) -> None:
    startup = tmp_path / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-wake-qt-loop.py").write_text(QT_WAKEUP)
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))


def test_notebook_runs(tmp_path, monkeypatch, request):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    _ipython_dir(tmp_path, monkeypatch)
    monkeypatch.setenv("MARKERLESS_NOTEBOOK_DIR", str(tmp_path / "work"))
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    try:  # reuse compiled XLA programs across runs (the notebook's cost is compiling)
        cache = request.config.cache.mkdir("markerless-jax-cache")
        monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(cache))
        monkeypatch.setenv("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    except AttributeError:
        pass
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name=_kernel(tmp_path, monkeypatch),
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()

    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "16 labeled frames x 4 bodyparts" in text
    assert "trained: snapshot-200.msgpack" in text
    assert "240 predictions" in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, "the napari screenshot is missing"
    # the project the notebook made: analysis results next to the video
    (video_dir,) = (tmp_path / "work").glob("example-*/videos")
    assert list(video_dir.glob("synthetic-mouseDLC_resnettiny_*_200.h5"))
