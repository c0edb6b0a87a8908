"""``models:/`` URIs: ``models:/Name/3``, ``models:/Name/Production``, ``models:/Name/latest``, ``models:/Name@champion``."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError
from .names import check_alias, check_model_name, check_version
from .stages import normalize_stage

SCHEME = "models:/"


@dataclass(frozen=True)
class VersionRef:
    """Which version of ``name`` is meant: exactly one of version, stage, alias, or latest."""

    name: str
    version: int | None = None
    stage: str | None = None
    alias: str | None = None
    latest: bool = False

    def describe(self) -> str:
        if self.version is not None:
            return f"{self.name} version {self.version}"
        if self.stage is not None:
            return f"{self.name} in {self.stage}"
        if self.alias is not None:
            return f"{self.name}@{self.alias}"
        return f"the latest version of {self.name}"


def parse_uri(uri: str) -> VersionRef:
    if not isinstance(uri, str) or not uri.startswith(SCHEME):
        raise UsageError(
            f"{uri!r} is not a model URI; use models:/Name/3, models:/Name/Production or models:/Name@alias"
        )
    body = uri[len(SCHEME) :]
    if "@" in body:
        name, alias = body.rsplit("@", 1)
        return VersionRef(check_model_name(name), alias=check_alias(alias))
    name, sep, selector = body.rpartition("/")
    if not sep or not name or not selector:
        raise UsageError(f"{uri!r} names no version; use models:/Name/3, models:/Name/Production or models:/Name@alias")
    return selector_ref(check_model_name(name), selector)


def selector_ref(name: str, selector: str | int) -> VersionRef:
    """A version number, stage name, ``latest`` or alias, as typed on a command line."""
    text = str(selector).strip()
    if text.isdigit():
        return VersionRef(name, version=check_version(int(text)))
    if text.lower() == "latest":
        return VersionRef(name, latest=True)
    try:
        return VersionRef(name, stage=normalize_stage(text))
    except UsageError:
        return VersionRef(name, alias=check_alias(text))


def make_ref(
    name_or_uri: str, version: int | str | None = None, stage: str | None = None, alias: str | None = None
) -> VersionRef:
    """Build a reference from ``load_model``-style arguments (a URI, or a name plus one selector)."""
    given = [x is not None for x in (version, stage, alias)]
    if isinstance(name_or_uri, str) and name_or_uri.startswith(SCHEME):
        if any(given):
            raise UsageError("pass either a models:/ URI or a name with version=, stage= or alias=, not both")
        return parse_uri(name_or_uri)
    name = check_model_name(name_or_uri)
    if sum(given) != 1:
        raise UsageError(
            f"say which version of {name!r}: exactly one of version=, stage= or alias= (or a models:/ URI)"
        )
    if version is not None:
        return VersionRef(name, version=check_version(version))
    if stage is not None:
        return VersionRef(name, stage=normalize_stage(stage))
    return VersionRef(name, alias=check_alias(alias))
