"""The team policy (:mod:`nbtrack.policy`) as a promotion gate.

``require=["policy"]`` (CLI ``--require policy``) makes a promotion check that the version's run
complies with ``[tags]`` and the version itself (its tags, and its description as key
``description``) with ``[model_tags]``. When a policy exists the check is on by default for
Production; ``require_policy=False`` (``--no-policy``) turns it off, and the promotion event's
details say so. Without a policy file and without asking, nothing changes.

The run's tags are checked now against the policy now, not read from its stored verdict: a run
made before the policy (unchecked) or tagged since is judged as it stands.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..entities import PRODUCTION, STAGING, ModelVersion, Run
from ..errors import RegistryError
from ..policy import POLICY_TAG, Policy, fix_command, verdict
from .gates import GateEvaluation

#: the word in a list of gate requirements that asks for the policy check
POLICY_REQUIREMENT = "policy"


def split_requirements(require: str | Iterable[str]) -> tuple[list[str], bool]:
    """(the gate expressions, whether ``policy`` was among them)."""
    items = [require] if isinstance(require, str) else list(require)
    wanted = [r for r in items if isinstance(r, str) and r.strip().lower() == POLICY_REQUIREMENT]
    return [r for r in items if not any(r is w for w in wanted)], bool(wanted)


def policy_required(policy: Policy | None, asked: bool | None, target: str) -> bool:
    """Whether this promotion checks the policy: as asked, else when one exists and the target is Production."""
    if asked is None:
        return policy is not None and target == PRODUCTION
    if asked and policy is None:
        raise RegistryError(
            "the promotion requires the team policy, but none was found: add [tool.nbtrack.tags] / "
            "[tool.nbtrack.model_tags] to pyproject.toml or write .nbtrack/policy.toml"
        )
    return asked


def evaluate_policy(policy: Policy, run: Run, version: ModelVersion) -> GateEvaluation:
    """The policy gate's outcome, worded like the other gates (kept in the promotion event)."""
    run_problems = policy.check({k: v for k, v in run.tags.items() if k != POLICY_TAG})
    model_problems = policy.check_model(version.tags, version.description)
    notes = []
    if run_problems:
        notes.append(f"run {run.short_id} {verdict(run_problems)} (fix: {fix_command(run_problems, 'tag the run')})")
    if model_problems:
        notes.append(
            f"version {version.version} {verdict(model_problems)} (fix: {fix_command(model_problems, 'tag the version')})"
        )
    return GateEvaluation(POLICY_REQUIREMENT, not notes, note="; ".join(notes))  # the event's details name the file


def policy_details(policy: Policy | None, required: bool, asked: bool | None) -> dict[str, Any] | None:
    """What the promotion event records about the policy (None: nothing to record, as before policies)."""
    if policy is None and not required:
        return None
    if not required and asked is None:  # a policy exists but does not apply to this target by default
        return None
    return {
        "required": required,
        "source": str(policy.source) if policy is not None else None,
        **({"disabled_explicitly": True} if asked is False else {}),
    }


def audit_versions(registry, policy: Policy) -> list[tuple[ModelVersion, list]]:
    """``(version, violations)`` of every live version in Staging or Production that breaks ``[model_tags]``
    (versions in None or Archived are not held to it: the rules apply before those stages)."""
    found = []
    for model in registry.search_models():
        for version in model.versions:
            if version.stage in (STAGING, PRODUCTION):
                problems = policy.check_model(version.tags, version.description)
                if problems:
                    found.append((version, problems))
    return found
