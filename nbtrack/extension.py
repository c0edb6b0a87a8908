"""Loading and unloading the IPython extension.

``load`` builds one :class:`~nbtrack.session.Session` per load (with its :class:`TrackMagics`
configuration and :class:`CellHooks`) and remembers it on the shell, so ``%reload_ext nbtrack``
(unload, then load) registers nothing twice.
"""

from __future__ import annotations

from .hooks import CellHooks
from .magics import TrackMagics
from .session import Session

_ATTR = "_nbtrack_extension"


class Extension:
    """Everything one ``%load_ext nbtrack`` registered, so unload can remove exactly that."""

    def __init__(self, shell):
        self.shell = shell
        #: the configuration (traits) and the ``%track`` dispatch
        self.magics = TrackMagics(shell=shell)
        self.session = Session(shell, self.magics)
        self.magics.session = self.session
        self.hooks = self.session.hooks = CellHooks(shell, self.session)

    @property
    def plugins(self) -> list:
        return self.session.plugins

    def load(self) -> None:
        self.shell.register_magics(self.magics)
        self.hooks.register()
        self.session.install()
        for plugin in _plugins():
            plugin.attach(self.session)
            self.session.plugins.append(plugin)

    def unload(self) -> None:
        session = self.session
        for plugin in reversed(session.plugins):
            plugin.detach(session)
        session.plugins.clear()
        self.hooks.unregister()
        session.uninstall()
        for kind in ("line", "cell"):
            self.shell.magics_manager.magics[kind].pop("track", None)
        registry = self.shell.magics_manager.registry
        registry.pop(type(self.magics).__name__, None)
        session.close()


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
