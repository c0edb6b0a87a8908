"""The team's tagging standard: which tags a run (and a model version) must carry, and how.

A policy is a file in the repository, found from the working directory upwards like the store:
in each folder ``.nbtrack/policy.toml`` (tables ``[tags]`` and ``[model_tags]``), then a
``pyproject.toml`` holding ``[tool.nbtrack.tags]`` or ``[tool.nbtrack.model_tags]``; the nearest
wins. No file: no policy, and nbtrack behaves as if this module did not exist.

.. code-block:: toml

    [tool.nbtrack.tags]
    team = { required = true, one_of = ["churn", "fraud"], help = "the owning team" }
    data_version = { required = true, pattern = "^v\\\\d+$" }
    owner = { default = "git:user.name" }          # git:KEY, env:NAME or a literal
    proj = { refuse = "use `project`" }            # typo'd synonyms

Pure: reads files and ``git config``, knows nothing of the store. Tracking stamps the verdict on
runs (:data:`POLICY_TAG`), the registry checks it before promotions, ``nbtrack check`` lists it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .errors import PolicyError

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI (a dependency only there)
    import tomli as tomllib

#: the system tag holding a run's verdict: "ok" or "violations: team missing; ..."
POLICY_TAG = "nbtrack.policy"
OK = "ok"
VIOLATIONS = "violations"
#: the file in a ``.nbtrack/`` folder, and the project file
POLICY_FILE = "policy.toml"
PYPROJECT = "pyproject.toml"
STORE_DIRNAME = ".nbtrack"
RULE_NAMES = ("required", "one_of", "pattern", "default", "refuse", "help")
SECTIONS = ("tags", "model_tags")
#: in ``[model_tags]``, this key checks the version's description (when no tag of that name is set)
DESCRIPTION_KEY = "description"


@dataclass(frozen=True)
class Rule:
    key: str
    required: bool = False
    one_of: tuple[str, ...] = ()
    pattern: re.Pattern | None = None
    default: str | None = None
    refuse: str | None = None
    help: str | None = None

    def check(self, value: str | None) -> "Violation | None":
        """The violation of ``value`` (None: the tag is absent), or None when it complies."""
        if self.refuse is not None:
            return None if value is None else Violation(self.key, f"{self.key} is refused: {self.refuse}", None)
        if value is None:
            return Violation(self.key, f"{self.key} missing", self.suggestion()) if self.required else None
        if self.one_of and value not in self.one_of:
            return Violation(self.key, f"{self.key} {value!r} not one of {', '.join(self.one_of)}", self.suggestion())
        if self.pattern is not None and not self.pattern.search(value):
            return Violation(self.key, f"{self.key} {value!r} does not match {self.pattern.pattern}", self.suggestion())
        return None

    def suggestion(self) -> str:
        """A value to show in the fix (``%track tag team=churn``): an allowed one, else a placeholder."""
        if self.one_of:
            return self.one_of[0]
        return f"<{self.help or ('matching ' + self.pattern.pattern if self.pattern is not None else 'value')}>"


@dataclass(frozen=True)
class Violation:
    key: str
    message: str
    #: the value to suggest in ``%track tag KEY=VALUE``; None when the fix is removing the tag
    suggestion: str | None


@dataclass
class Policy:
    """Rules for run tags and model-version tags, read from ``source``."""

    source: Path
    tags: dict[str, Rule] = field(default_factory=dict)
    model_tags: dict[str, Rule] = field(default_factory=dict)
    #: resolved ``git:``/``env:`` defaults are read once per policy object (a subprocess per run would cost ms)
    _git: dict[str, str | None] = field(default_factory=dict, repr=False)

    def defaults(self, tags: Mapping[str, Any]) -> dict[str, str]:
        """The default tags to add to ``tags``: those with a default, missing, and resolvable."""
        filled = {}
        for rule in self.tags.values():
            if rule.default is not None and rule.key not in tags:
                value = self._resolve(rule.default)
                if value:
                    filled[rule.key] = value
        return filled

    def check(self, tags: Mapping[str, str]) -> list[Violation]:
        return _check(self.tags, tags)

    def check_model(self, tags: Mapping[str, str], description: str | None) -> list[Violation]:
        """A model version's tags (and description, as key ``description``) against ``[model_tags]``."""
        if description and DESCRIPTION_KEY not in tags:
            tags = {**tags, DESCRIPTION_KEY: description}
        return _check(self.model_tags, tags)

    def _resolve(self, default: str) -> str | None:
        if default.startswith("env:"):
            return os.environ.get(default[4:]) or None
        if default.startswith("git:"):
            key = default[4:]
            if key not in self._git:
                self._git[key] = git_config(key, self.source.parent)
            return self._git[key]
        return default


def verdict(violations: list[Violation]) -> str:
    """The :data:`POLICY_TAG` value: ``ok`` or ``violations: team missing; ...``."""
    return OK if not violations else f"{VIOLATIONS}: " + "; ".join(v.message for v in violations)


def fix_command(violations: list[Violation], command: str = "%track tag") -> str:
    """How to comply, as the user would type it: ``%track tag team=churn data_version=<...>``."""
    sets = [f"{v.key}={v.suggestion}" for v in violations if v.suggestion is not None]
    drops = [v.key for v in violations if v.suggestion is None]
    parts = ([f"{command} {' '.join(sets)}"] if sets else []) + ([f"remove tag {', '.join(drops)}"] if drops else [])
    return "; ".join(parts)


def _check(rules: Mapping[str, Rule], tags: Mapping[str, str]) -> list[Violation]:
    found = (rule.check(tags.get(key)) for key, rule in rules.items())
    return [v for v in found if v is not None]


def git_config(key: str, folder: Path) -> str | None:
    """``git config --get KEY`` run in ``folder`` (the repository's and the user's settings); None when unset."""
    try:
        done = subprocess.run(
            ["git", "config", "--get", key], cwd=folder, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


# -- finding and reading --------------------------------------------------------------------------
class PolicyFinder:
    """Finds the policy for a folder; files are parsed once per (path, mtime, size).

    Owned by a tracker or registry (no module-level cache): a run's start and end cost a few
    ``stat`` calls when the files are unchanged, and nothing else when there is no policy.
    """

    def __init__(self) -> None:
        self._parsed: dict[str, tuple[tuple[int, int], Policy | None]] = {}
        #: (start, store) -> the files to look at, as strings: ``os.stat`` on a str costs a third of ``Path.stat``
        self._candidates: dict[tuple[str, str | None], list[str]] = {}

    def find(self, start: str | os.PathLike | None = None, store_dir: str | os.PathLike | None = None) -> Policy | None:
        """The policy in effect in ``start`` (default: the working directory), or None.

        ``store_dir`` (the store in use, when found elsewhere, e.g. ``NBTRACK_STORE``) is
        looked in first. Raises :class:`PolicyError` for a broken file.
        """
        key = (
            os.fspath(start) if start is not None else os.getcwd(),
            None if store_dir is None else os.fspath(store_dir),
        )
        paths = self._candidates.get(key)
        if paths is None:
            paths = self._candidates[key] = [str(p) for p in self.candidates(*key)]
        for path in paths:
            try:
                stat = os.stat(path)
            except OSError:
                continue
            stamp = (stat.st_mtime_ns, stat.st_size)
            cached = self._parsed.get(path)
            if cached is None or cached[0] != stamp:
                cached = (stamp, load(path))
                self._parsed[path] = cached
            if cached[1] is not None:
                return cached[1]
        return None

    @staticmethod
    def candidates(start: str | os.PathLike | None, store_dir: str | os.PathLike | None) -> list[Path]:
        folder = Path(start if start is not None else os.getcwd())
        found = [Path(store_dir) / POLICY_FILE] if store_dir is not None else []
        for each in (folder, *folder.parents):
            found += [each / STORE_DIRNAME / POLICY_FILE, each / PYPROJECT]
        return found


def load(path: str | os.PathLike) -> Policy | None:
    """The policy in ``path`` (None for a pyproject without ``[tool.nbtrack]`` rules)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read the policy file: {exc}") from None
    return parse(text, path)


def parse(text: str, path: Path) -> Policy | None:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML: {exc}") from None
    in_pyproject = path.name == PYPROJECT
    if in_pyproject:
        tool = data.get("tool", {}).get("nbtrack", {})
        if not isinstance(tool, dict) or not any(s in tool for s in SECTIONS):
            return None
        tables, prefix = tool, "tool.nbtrack."
    else:
        tables, prefix = data, ""
        for name in data:
            if name not in SECTIONS:
                raise _semantic(
                    text, path, f"unknown table [{name}] (a policy has {', '.join(f'[{s}]' for s in SECTIONS)})", name
                )
    policy = Policy(path)
    for section in SECTIONS:
        rules = tables.get(section, {})
        if not isinstance(rules, dict):
            raise _semantic(text, path, f"{prefix}{section} must be a table of tag rules", section)
        setattr(
            policy, section, {key: _rule(text, path, f"{prefix}{section}", key, spec) for key, spec in rules.items()}
        )
    return policy


def _rule(text: str, path: Path, section: str, key: str, spec: Any) -> Rule:
    where = f"{section}.{key}"

    def bad(message: str, name: str | None = None) -> PolicyError:
        return _semantic(text, path, f"{where}: {message}", key, name)

    if not isinstance(spec, dict):
        raise bad(f"expected a table of rules such as {{ required = true }}, got {spec!r}")
    unknown = [name for name in spec if name not in RULE_NAMES]
    if unknown:
        raise bad(f"unknown rule {unknown[0]!r} (rules are {', '.join(RULE_NAMES)})", unknown[0])
    for name in ("default", "refuse", "help", "pattern"):
        if name in spec and not (isinstance(spec[name], str) and spec[name]):
            raise bad(f"{name} must be a non-empty string", name)
    if "required" in spec and not isinstance(spec["required"], bool):
        raise bad("required must be true or false", "required")
    one_of = spec.get("one_of", [])
    if not isinstance(one_of, list) or not one_of and "one_of" in spec or not all(isinstance(v, str) for v in one_of):
        raise bad("one_of must be a non-empty list of strings (tags are text)", "one_of")
    pattern = None
    if "pattern" in spec:
        try:
            pattern = re.compile(spec["pattern"])
        except re.error as exc:
            raise bad(f"pattern {spec['pattern']!r} is not a valid regular expression: {exc}", "pattern") from None
    if "refuse" in spec and len(spec) > 1 + ("help" in spec):
        raise bad("a refused tag takes no other rule than help", "refuse")
    return Rule(
        key,
        spec.get("required", False),
        tuple(one_of),
        pattern,
        spec.get("default"),
        spec.get("refuse"),
        spec.get("help"),
    )


def _semantic(text: str, path: Path, message: str, key: str, rule: str | None = None) -> PolicyError:
    line = _line_of(text, key, rule)
    return PolicyError(f"{path}{f', line {line}' if line else ''}: {message}")


def _line_of(text: str, key: str, rule: str | None) -> int | None:
    """The 1-based line where ``key`` (or its ``rule``) is written: TOML's parser reports syntax
    errors with a line, but a well-formed file with a wrong rule needs the line found in the text
    (the first place the key is written)."""
    lines = text.splitlines()
    key_at = re.compile(rf"""^\s*(\[([^\]]*\.)?)?["']?{re.escape(key)}["']?\s*(=|\])""")
    rule_at = re.compile(rf"""(^|[{{,\s])["']?{re.escape(rule or "")}["']?\s*=""")
    for number, line in enumerate(lines, start=1):
        if not key_at.match(line):
            continue
        if rule is None or "{" in line and rule_at.search(line.split("{", 1)[1]):
            return number
        if line.lstrip().startswith("["):  # a [tags.team] table: its rules follow, up to the next table
            for later_number, later in enumerate(lines[number:], start=number + 1):
                if later.lstrip().startswith("["):
                    break
                if rule_at.match(later.strip()):
                    return later_number
        return number
    return None
