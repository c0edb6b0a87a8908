"""The example notebooks run under ``pytest --nbval-lax`` into a fresh store of their own.

nbval's kernel inherits this process's environment, so the store is chosen here, before
any kernel starts; the user's own store is never touched by the test run.
"""

import os
import tempfile

os.environ["NBTRACK_STORE"] = tempfile.mkdtemp(prefix="nbtrack-examples-")
os.environ.setdefault("MPLBACKEND", "Agg")
