"""Loading and unloading the IPython extension.

``load`` builds one :class:`TrackMagics` + :class:`CellHooks` per load and remembers them
on the shell, so ``%reload_ext nbtrack`` (unload, then load) registers nothing twice.
"""

from __future__ import annotations

from . import api
from .hooks import CellHooks
from .magics import TrackMagics

_ATTR = "_nbtrack_extension"


class Extension:
    """Everything one ``%load_ext nbtrack`` registered, so unload can remove exactly that."""

    def __init__(self, shell):
        self.shell = shell
        self.magics = TrackMagics(shell=shell)
        self.hooks = CellHooks(shell, self.magics)
        self.magics.hooks = self.hooks
        #: called with the extension after load; later features (snapshots, lab comm) plug in here
        self.plugins: list = []

    def load(self) -> None:
        self.shell.register_magics(self.magics)
        self.hooks.register()
        api.install(lambda: self.magics.tracker)
        for plugin in _plugins():
            plugin.attach(self)
            self.plugins.append(plugin)

    def unload(self) -> None:
        for plugin in reversed(self.plugins):
            plugin.detach(self)
        self.plugins.clear()
        self.hooks.unregister()
        api.install(None)
        for kind in ("line", "cell"):
            self.shell.magics_manager.magics[kind].pop("track", None)
        registry = self.shell.magics_manager.registry
        registry.pop(type(self.magics).__name__, None)
        self.magics.close()


def _plugins() -> list:
    """Optional features that attach to a loaded extension (imported lazily, each self-contained)."""
    from .notebook_plugin import NotebookPlugin

    return [NotebookPlugin()]


def load(shell) -> Extension:
    existing = getattr(shell, _ATTR, None)
    if existing is not None:
        existing.unload()
    extension = Extension(shell)
    extension.load()
    setattr(shell, _ATTR, extension)
    return extension


def unload(shell) -> None:
    extension = getattr(shell, _ATTR, None)
    if extension is not None:
        extension.unload()
        delattr(shell, _ATTR)


def current(shell) -> Extension | None:
    return getattr(shell, _ATTR, None)
