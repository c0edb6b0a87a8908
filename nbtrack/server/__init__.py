"""The jupyter_server extension behind the JupyterLab runs side panel.

Why a server extension and not the kernel comm: the panel must list runs while the kernel
is busy (a synchronous cell cannot answer a comm message, see JUPYTER_NOTES.md), for
notebooks whose kernel never loaded nbtrack, and with no kernel at all. The server reads
the same store the kernel writes (SQLite in WAL mode allows that) through the same
services, so this package is a thin HTTP layer: :mod:`.runs` does the work,
:mod:`.handlers` maps it to routes.

Enabled by ``jupyter-config/server-config/nbtrack.json`` (installed into
``etc/jupyter/jupyter_server_config.d``); check with ``jupyter server extension list``.

Routes (all behind Jupyter's auth; JSON):

``GET  /nbtrack/api/runs?notebook=<server-relative path>[&limit=N]``
    the notebook's runs, newest first
``GET  /nbtrack/api/runs/<run id>?notebook=<path>``
    one run plus the notebook's run just before it (the panel diffs the two)
``POST /nbtrack/api/runs/<run id>/rerun?notebook=<path>``
    re-execute the run's notebook snapshot (the snapshot package's rerun)
"""

from __future__ import annotations

__all__ = ["_jupyter_server_extension_points", "_load_jupyter_server_extension"]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "nbtrack.server"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from .handlers import routes

    web_app = serverapp.web_app
    base_url = web_app.settings["base_url"]
    web_app.add_handlers(".*$", routes(base_url))
    serverapp.log.info("nbtrack: runs API at %snbtrack/api/runs", base_url)
