"""Model registry service: versions from runs, stages, aliases, promotion gates, the audit trail."""

from .comparison import MetricDelta, ParamDelta, VersionComparison
from .compliance import POLICY_REQUIREMENT
from .gates import GateEvaluation, parse_requirement
from .service import Promotion, Registry
from .stages import ALLOWED_TRANSITIONS, normalize_stage
from .uris import VersionRef, parse_uri

__all__ = [
    "ALLOWED_TRANSITIONS",
    "GateEvaluation",
    "POLICY_REQUIREMENT",
    "MetricDelta",
    "ParamDelta",
    "Promotion",
    "Registry",
    "VersionComparison",
    "VersionRef",
    "normalize_stage",
    "parse_requirement",
    "parse_uri",
]
