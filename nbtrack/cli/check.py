"""``nbtrack check [QUERY]``: the runs and model versions that break the team policy, for CI.

Exit codes: 0 when everything complies (or there is no policy), 1 when something does not,
2 when the store or the policy file cannot be read.
"""

from __future__ import annotations

from . import open_tracker


def register(sub) -> None:
    check = sub.add_parser(
        "check", help="list runs and model versions that break the team policy; exit 1 if any (for CI)"
    )
    check.add_argument("query", nargs="*", help="only runs matching this filter, e.g. experiment = 'churn'")
    check.set_defaults(handler=cmd_check)


def cmd_check(args) -> int:
    from ..policy import PolicyFinder, verdict
    from ..registry import Registry
    from ..registry.compliance import audit_versions
    from ..tracking.policy_check import audit_runs

    tracker = open_tracker(args)
    policy = PolicyFinder().find(store_dir=tracker.location.directory)
    if policy is None:
        print(
            "nbtrack check: no team policy found ([tool.nbtrack.tags] in pyproject.toml or .nbtrack/policy.toml); nothing to check"
        )
        return 0
    runs = 0
    for run_id, name, problems in audit_runs(tracker, policy, " ".join(args.query) or None):
        runs += 1
        print(f"run {run_id[:8]}{f' {name!r}' if name else ''}: {verdict(problems)}")
    versions = audit_versions(Registry.of(tracker), policy)
    for version, problems in versions:
        print(f"model {version.name!r} version {version.version} ({version.stage}): {verdict(problems)}")
    if runs or versions:
        print(f"nbtrack check: {runs} run(s) and {len(versions)} model version(s) break the policy in {policy.source}")
        return 1
    print(f"nbtrack check: every run and model version complies with the policy in {policy.source}")
    return 0
