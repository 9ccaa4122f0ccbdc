"""Qt building blocks of the docks: buttons, rows, groups, forms, a status line, questions.

Also the one way a dock shows an error: :func:`error_line` (through
:func:`markerless.errors.user_message`, the CLI's wording too), in a
:class:`StatusLine` or a job panel, and :func:`reports_errors` for dock actions
that can fail, so that no raw traceback reaches the user.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

ERROR_STYLE = "color: #ff6b6b;"

F = TypeVar("F", bound=Callable[..., Any])


# --- errors -----------------------------------------------------------------------------
def error_line(err: BaseException, prefix: str = "") -> str:
    """``err`` as one line for a dock (:func:`~markerless.errors.user_message`).

    An internal error (a bug) also has its traceback logged, for the bug report.
    """
    from markerless.errors import is_internal, user_message

    text = " ".join(user_message(err).split())
    if is_internal(err):
        log.error("%s%s", prefix, text, exc_info=(type(err), err, err.__traceback__))
    return f"{prefix}{text}"


def reports_errors(method: F) -> F:
    """A dock action whose error is shown by the dock (``self.show_error(err)``) instead
    of reaching napari as a traceback; the action then returns None."""

    @functools.wraps(method)
    def action(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as err:  # noqa: BLE001 - shown in the dock, one line
            self.show_error(err)
            return None

    return action  # type: ignore[return-value]


class StatusLine(QLabel):
    """A dock's status line: what just happened, or what went wrong (in red)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def say(self, text: str, error: bool = False) -> None:
        self.setText(text)
        self.setStyleSheet(ERROR_STYLE if error else "")

    def show_error(self, err: BaseException, prefix: str = "") -> None:
        self.say(error_line(err, prefix), error=True)


# --- small builders ---------------------------------------------------------------------
def button(text: str, slot: Callable[..., Any], tip: str = "") -> QPushButton:
    """A push button calling ``slot()`` (without Qt's ``checked`` argument)."""
    b = QPushButton(text)
    b.clicked.connect(lambda *_: slot())
    if tip:
        b.setToolTip(tip)
    return b


def hbox(*widgets: Any) -> QWidget:
    """A row of widgets (strings become labels)."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for w in widgets:
        layout.addWidget(QLabel(w) if isinstance(w, str) else w)
    return row


def group(title: str, widgets: list) -> QGroupBox:
    """A titled box of widgets, one under the other."""
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    for w in widgets:
        layout.addWidget(w)
    return box


def form(container: Any, rows: list[tuple[str, Any]]) -> Any:
    """``container`` with a QFormLayout of (label, widget) rows."""
    layout = QFormLayout(container)
    for label, w in rows:
        layout.addRow(label, w)
    return container


class _VerticalScrollArea(QScrollArea):
    """Scrolls vertically only and asks for the width its contents need."""

    def _with_content_width(self, hint: Any, content_hint: Any) -> Any:
        hint.setWidth(content_hint.width() + self.verticalScrollBar().sizeHint().width() + 2)
        return hint

    def minimumSizeHint(self) -> Any:  # noqa: N802 - Qt's name
        content = self.widget()
        hint = super().minimumSizeHint()
        return hint if content is None else self._with_content_width(
            hint, content.minimumSizeHint())

    def sizeHint(self) -> Any:  # noqa: N802 - Qt's name
        content = self.widget()
        hint = super().sizeHint()
        return hint if content is None else self._with_content_width(hint, content.sizeHint())


def scroll_layout(widget: QWidget) -> QVBoxLayout:
    """A vertical layout inside a scroll area that fills ``widget``: a tall dock scrolls
    instead of squeezing its plots and forms together in a small window."""
    content = QWidget()
    layout = QVBoxLayout(content)
    area = _VerticalScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(content)
    outer = QVBoxLayout(widget)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(area)
    return layout


def format_seconds(seconds: float | None) -> str:
    """``"42 s"``, ``"3:05"``, or ``"?"`` when unknown."""
    if seconds is None or seconds != seconds:
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds} s"


# --- questions --------------------------------------------------------------------------
def ask_yes_no(parent: QWidget, title: str, text: str) -> bool:
    """A Yes/No question whose default answer is No (used before anything destructive)."""
    answer = QMessageBox.question(parent, title, text,
                                  QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)  # fmt: skip
    return answer == QMessageBox.StandardButton.Yes


def ask_choice(parent: QWidget, title: str, text: str, buttons: Sequence[str]) -> str:
    """Modal question; returns the chosen button's text (the last one on Escape)."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=parent)
    made = [box.addButton(b, QMessageBox.ButtonRole.AcceptRole) for b in buttons]
    box.setEscapeButton(made[-1])
    box.exec()
    clicked = box.clickedButton()
    return next((b for b, m in zip(buttons, made, strict=True) if m is clicked), buttons[-1])
