"""Cell outputs as nbformat v4 output dicts, bounded in size.

IPython >= 9 already records every output of a cell, at the moment it is produced, in
``shell.history_manager.outputs[execution_count]`` (stdout/stderr writes, ``Out[n]``
bundles, ``display()`` bundles including images) and the error in
``history_manager.exceptions[execution_count]``. Reading those costs nothing per cell and
cannot change what the user sees, so nbtrack converts them only when a run ends.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

_STREAMS = {"out_stream": "stdout", "err_stream": "stderr"}
#: a line nbtrack itself printed into a cell's stream (the run summary, notices): not the cell's output
_OWN_LINE = re.compile(r"^nbtrack: .*(?:\n|$)", re.MULTILINE)
TRUNCATED_NOTE = "[nbtrack: output truncated at {limit} bytes; {dropped} more bytes not recorded]\n"


def to_nbformat(
    history_outputs: Iterable[Any], execution_count: int | None, error: Mapping[str, Any] | None
) -> list[dict]:
    """nbformat outputs from IPython ``HistoryOutput`` objects (``output_type`` + ``bundle``)."""
    outputs: list[dict] = []
    for item in history_outputs:
        kind = getattr(item, "output_type", None)
        bundle = getattr(item, "bundle", None) or {}
        if kind in _STREAMS:
            text = "".join(str(part) for part in bundle.get("stream", []))
            if outputs and outputs[-1]["output_type"] == "stream" and outputs[-1]["name"] == _STREAMS[kind]:
                outputs[-1]["text"] += text
            else:
                outputs.append({"output_type": "stream", "name": _STREAMS[kind], "text": text})
        elif kind == "execute_result":
            outputs.append(
                {
                    "output_type": "execute_result",
                    "execution_count": execution_count,
                    "data": _mime(bundle),
                    "metadata": {},
                }
            )
        elif kind == "display_data":
            outputs.append({"output_type": "display_data", "data": _mime(bundle), "metadata": {}})
    if error:
        outputs.append(
            {
                "output_type": "error",
                "ename": str(error.get("ename", "")),
                "evalue": str(error.get("evalue", "")),
                "traceback": [str(line) for line in error.get("traceback") or []],
            }
        )
    return outputs


def _mime(bundle: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-safe mime bundle: bytes (PNG from some formatters) become base64 as in .ipynb files."""
    data = {}
    for mime, value in bundle.items():
        if isinstance(value, (bytes, bytearray)):
            value = base64.b64encode(bytes(value)).decode("ascii")
        elif not isinstance(value, (str, list, dict, int, float, bool)) and value is not None:
            value = str(value)
        data[str(mime)] = value
    return data


def bound(outputs: list[dict], limit: int) -> tuple[list[dict], bool]:
    """Keep outputs in order until ``limit`` bytes of JSON; cut a stream mid-way, drop the rest.

    Returns (outputs, truncated). A dropped rich output leaves a one-line stream note, so a
    restored notebook shows that something was there.
    """
    kept: list[dict] = []
    used = 0
    for index, output in enumerate(outputs):
        size = len(json.dumps(output, default=str))
        if used + size <= limit:
            kept.append(output)
            used += size
            continue
        dropped = size + sum(len(json.dumps(o, default=str)) for o in outputs[index + 1 :])
        room = max(0, limit - used)
        if output["output_type"] == "stream" and room > 200:
            text = output["text"][: room - 200]
            kept.append(
                {**output, "text": text + "\n" + TRUNCATED_NOTE.format(limit=limit, dropped=dropped - len(text))}
            )
        else:
            kept.append(
                {"output_type": "stream", "name": "stderr", "text": TRUNCATED_NOTE.format(limit=limit, dropped=dropped)}
            )
        return kept, True
    return kept, False


def output_text(outputs: Any, rich: bool = True) -> str:
    """Outputs as comparable text: streams (without nbtrack's own lines), ``text/plain``, errors;
    with ``rich``, other data by type and hash (an image that changed shows as one changed line,
    its sha256 prefix, not as base64)."""
    lines = []
    for output in outputs or []:
        kind = output.get("output_type")
        if kind == "stream":
            lines.append(_OWN_LINE.sub("", _joined(output.get("text"))))
        elif kind == "error":
            lines.append(f"{output.get('ename', '')}: {output.get('evalue', '')}\n")
        elif kind in ("execute_result", "display_data"):
            data = output.get("data") or {}
            if "text/plain" in data:
                lines.append(_joined(data["text/plain"]) + "\n")
            for mime in sorted(m for m in data if m != "text/plain") if rich else ():
                digest = hashlib.sha256(_joined(data[mime]).encode("utf-8", "surrogatepass")).hexdigest()[:12]
                lines.append(f"[{mime} {digest}]\n")
    return "".join(lines)


def _joined(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(part) for part in value)
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
