"""nbtrack's benchmark: the same workloads on nbtrack, on MLflow (SQLite backend) and on raw sqlite3.

Run ``.venv/bin/python -m benchmarks`` to regenerate ``benchmarks/RESULTS.md``; see README.md.
Each backend runs in its own warm worker process and the runner interleaves them sample by
sample, so drift on a shared machine hits every backend alike and the ratios stay honest.
"""
