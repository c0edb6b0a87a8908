"""The test suite's own promises (issue 15.7): the quick loop ``pytest -m "not slow and not browser"``
starts no kernel or Python process, and ``tests/README.md`` maps every test file."""

from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
#: what starts a kernel or another Python: nbclient/jupyter_client, a Popen, the interpreter's path
SPAWNS = re.compile(
    r"\bnbclient\b|NotebookClient|KernelManager|start_new_kernel|\bPopen\b|\[\s*sys\.executable\b|papermill\.execute"
)


def _marked_slow(node: ast.AST) -> bool:
    return any("slow" in ast.unparse(d) for d in getattr(node, "decorator_list", ()))


def _unmarked_spawners(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    if any(
        isinstance(n, ast.Assign)
        and any(getattr(t, "id", "") == "pytestmark" for t in n.targets)
        and "slow" in ast.unparse(n.value)
        for n in tree.body
    ):
        return []
    funcs = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    spawners = {name for name, n in funcs.items() if SPAWNS.search(ast.get_source_segment(source, n) or "")}
    spawners |= {"python"}  # conftest's fixture: the interpreter to start
    grew = True
    while grew:  # helpers and fixtures that call a spawner spawn too
        grew = False
        for name, n in funcs.items():
            used = {c.func.id for c in ast.walk(n) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
            used |= {a.arg for a in n.args.args}
            if name not in spawners and used & spawners:
                spawners.add(name)
                grew = True
    return [name for name in spawners if name.startswith("test_") and not _marked_slow(funcs[name])]


def test_every_test_that_starts_a_kernel_or_process_is_marked_slow():
    unmarked = {p.name: _unmarked_spawners(p) for p in sorted(TESTS.glob("test_*.py"))}
    assert {name: tests for name, tests in unmarked.items() if tests} == {}


def test_the_readme_maps_every_test_file():
    readme = (TESTS / "README.md").read_text(encoding="utf-8")
    files = {p.name for p in TESTS.glob("test_*.py")} | {
        f"browser/{p.name}" for p in (TESTS / "browser").glob("test_*.py")
    }
    listed = set(re.findall(r"`((?:browser/)?test_\w+\.py)`", readme))
    assert files - listed == set(), "add these to tests/README.md"
    assert listed - files == set(), "tests/README.md names files that do not exist"
