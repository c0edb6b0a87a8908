"""Snapshot cost: per-cell hook overhead, run-end time and stored bytes per run for a 100-cell notebook.

Run: .venv/bin/python benchmarks/snapshot_bench.py (uses a temporary directory).
"""
import tempfile
import os, time, statistics, json, nbformat
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config
WORK = tempfile.mkdtemp(prefix="nbtrack-bench-")
os.environ["NBTRACK_STORE"] = os.path.join(WORK, ".nbtrack")
# realistic 100-cell notebook: code + some outputs (text, a 20 KB png-ish b64 every 10th)
nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
srcs = []
for i in range(100):
    src = f"v{i} = {i}\nimport math\nres{i} = [math.sqrt(v{i} + k) for k in range(20)]\nprint(res{i}[:3])"
    srcs.append(src)
    cell = nbformat.v4.new_code_cell(src)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"[{i}, 1, 2]\n")]
    if i % 10 == 0:
        cell.outputs.append(nbformat.v4.new_output("display_data", data={"image/png": "iVBOR" + "A" * 20000}))
    nb.cells.append(cell)
nbformat.write(nb, os.path.join(WORK, "nb.ipynb"))
os.environ["NBTRACK_NOTEBOOK"] = os.path.join(WORK, "nb.ipynb")
c = Config(); c.HistoryManager.hist_file = ":memory:"
sh = InteractiveShell.instance(config=c)
sh.run_cell("%load_ext nbtrack", store_history=True)
ext = sh._nbtrack_extension; plugin = ext.magics.notebook_session
sh.run_cell("%track notebook " + os.path.join(WORK, "nb.ipynb"), store_history=True)
# per-cell overhead of before/after_cell (untracked cells)
class Info: raw_cell = "x = 1"; store_history = True; cell_id = None
class Res: execution_count = 1; error_in_exec = None; error_before_exec = None
N = 20000
t = time.perf_counter()
for _ in range(N):
    plugin.before_cell(Info); plugin.after_cell(Res, None)
per = (time.perf_counter() - t) / N
plugin.history.entries.clear()
for s in srcs:
    sh.run_cell(s, store_history=True)
import io, contextlib
tracker = ext.magics.tracker
db = os.path.join(WORK, ".nbtrack", "nbtrack.db")
def size():
    tot = os.path.getsize(db) + (os.path.getsize(db + "-wal") if os.path.exists(db + "-wal") else 0)
    return tot
def blobbytes():
    return tracker.store.query("SELECT coalesce(sum(length(data)),0) AS n, count(*) AS c FROM blobs")[0]
times = []
b0 = blobbytes()
for i in range(30):
    with contextlib.redirect_stdout(io.StringIO()):
        sh.run_cell("%%track -q\nlr = 0.1", store_history=True)
    times.append(plugin.last_run_end_seconds)
b1 = blobbytes()
print(f"per untracked cell (before+after_cell): {per*1e6:.1f} us")
print(f"run-end snapshot step, 100-cell notebook, history ~{len(plugin.history.entries)} cells: first {times[0]*1e3:.1f} ms, median {statistics.median(times[1:])*1e3:.1f} ms, max {max(times[1:])*1e3:.1f} ms")
print("blob bytes added by 30 runs:", b1["n"] - b0["n"], "blobs", b1["c"] - b0["c"], "=> bytes per run", (b1["n"] - b0["n"]) / 30)
snap = tracker.store.query("SELECT size FROM blobs WHERE sha256 = (SELECT snapshot_sha256 FROM runs ORDER BY id DESC LIMIT 1)")[0]
print("snapshot blob raw size", snap["size"])
