"""Small wiring helpers shared by the views: every callback goes through ``controller.attempt``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w


def button(description: str, css: str, on_click: Callable[[], Any], controller, **kwargs: Any) -> w.Button:
    """A Button with a stable CSS class whose handler can never raise into ipywidgets."""
    widget = w.Button(description=description, **kwargs)
    widget.add_class(css)
    widget.on_click(lambda _button: controller.attempt(on_click))
    return widget


def on_value(
    widget: w.Widget, handler: Callable[[Any], Any], controller, guard: Callable[[], bool] = lambda: False
) -> None:
    """Call ``handler(new_value)`` through the controller when the user changes ``widget``.

    ``guard()`` returning True skips the call: views set it while they write values themselves.
    """

    def observe(change) -> None:
        if not guard():
            controller.attempt(handler, change["new"])

    widget.observe(observe, names="value")


def classed(widget: w.Widget, *css: str) -> w.Widget:
    for name in css:
        widget.add_class(name)
    return widget


def confirm_row(
    prefix: str, on_confirm: Callable[[], Any], on_cancel: Callable[[], Any], controller
) -> tuple[w.HBox, w.HTML]:
    """The "are you sure?" row of a two-step action: (the row, its question text).

    CSS classes: ``{prefix}-confirm`` (danger), ``{prefix}-cancel``, ``{prefix}-confirm-text``, ``{prefix}-confirm-box``.
    """
    text = classed(w.HTML(), f"{prefix}-confirm-text")
    row = classed(
        w.HBox(
            [
                text,
                button("Confirm", f"{prefix}-confirm", on_confirm, controller, button_style="danger"),
                button("Cancel", f"{prefix}-cancel", on_cancel, controller),
            ]
        ),
        f"{prefix}-confirm-box",
    )
    return row, text
