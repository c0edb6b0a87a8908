"""Tornado handlers: routes -> :mod:`.runs`, errors -> JSON with a status code.

``APIHandler`` + ``@tornado.web.authenticated`` put every route behind Jupyter's own auth
(token, cookie, XSRF for POST), so a request without credentials gets 403. Store reads run
in a worker thread: SQLite may wait for the kernel's write lock (busy timeout) and the
server's event loop must not.
"""

from __future__ import annotations

import asyncio
import json

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from ..errors import NbtrackError, NotFoundError, UsageError
from . import runs

#: seconds a rerun may take before the server gives up on it
RERUN_TIMEOUT = 600
_OUTPUT_TAIL = 4000


def _fail(status: int, message: str) -> tornado.web.HTTPError:
    """An error answer; ``message`` is raw text (it may hold "%": ids, paths, CLI output)."""
    return tornado.web.HTTPError(status, "%s", message)


class _RunsHandler(APIHandler):
    def write_error(self, status_code: int, **kwargs) -> None:
        """``{"message": ...}`` with the text as given: ``APIHandler`` would send the unformatted
        ``log_message`` ("%s"), and tornado doubles the "%" of an argument-less one."""
        error = (kwargs.get("exc_info") or (None, None))[1]
        if not (isinstance(error, tornado.web.HTTPError) and error.log_message):
            return super().write_error(status_code, **kwargs)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": error.log_message % error.args, "reason": error.reason}))

    def _scope(self) -> runs.NotebookScope:
        return runs.scope(self.settings["server_root_dir"], self.get_query_argument("notebook", ""))

    async def _answer(self, function, *args) -> None:
        try:
            result = await asyncio.to_thread(function, *args)
        except NotFoundError as exc:
            raise _fail(404, str(exc)) from None
        except UsageError as exc:
            raise _fail(400, str(exc)) from None
        except NbtrackError as exc:
            raise _fail(500, str(exc)) from None
        self.finish(json.dumps(result))


class RunListHandler(_RunsHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        limit = self.get_query_argument("limit", str(runs.DEFAULT_LIMIT))
        if not limit.isdigit():
            raise _fail(400, "limit must be a positive integer")
        await self._answer(lambda: runs.list_runs(self._scope(), int(limit)))


class RunHandler(_RunsHandler):
    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        await self._answer(lambda: runs.run_detail(self._scope(), run_id))


class RerunHandler(_RunsHandler):
    """Runs ``nbtrack rerun RUN --json`` as a child process: a rerun executes a whole notebook in a
    new kernel, which must neither block nor be able to crash the Jupyter server.

    Answers 200 with the rerun record (``verified``, ``differing``, ``reasons``, ...) whether or
    not the run reproduced (the CLI exits 1 for "not verified"); 500 with the output when the
    command produced no record.
    """

    @tornado.web.authenticated
    async def post(self, run_id: str) -> None:
        if not runs.rerun_available():
            raise _fail(501, "this nbtrack has no `nbtrack rerun` command yet")
        try:
            where = self._scope()
        except UsageError as exc:
            raise _fail(400, str(exc)) from None
        process = await asyncio.create_subprocess_exec(
            *runs.rerun_command(where, run_id),
            cwd=str(where.absolute.parent) if where.absolute.parent.is_dir() else None,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), RERUN_TIMEOUT)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()
            raise _fail(504, f"rerun took longer than {RERUN_TIMEOUT} s and was stopped") from None
        try:
            record = json.loads(out.decode("utf-8", "replace"))
        except ValueError:
            text = (out + err).decode("utf-8", "replace").strip()[-_OUTPUT_TAIL:]
            raise _fail(500, text or f"nbtrack rerun exited with {process.returncode}") from None
        self.finish(json.dumps({**record, "exit_code": process.returncode}))


def routes(base_url: str) -> list[tuple[str, type]]:
    api = url_path_join(base_url, "nbtrack", "api", "runs")
    return [
        (api, RunListHandler),
        (url_path_join(api, r"([^/]+)"), RunHandler),
        (url_path_join(api, r"([^/]+)", "rerun"), RerunHandler),
    ]
