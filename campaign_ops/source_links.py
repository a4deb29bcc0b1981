"""Where each asset's code lives, shown on its page in the UI ("Source code").

An asset computed by a function links to that function (Dagster's `with_source_code_references`); an asset that
is only declared (a table our checks or sensors look at) links to the code that does its work, declared beside
it (`metadata=code_of(function)`). Either link is a path inside the repository: to a file in the project's
repository on its host when `CAMPAIGN_OPS_REPOSITORY_URL` is set (and `CAMPAIGN_OPS_REPOSITORY_BRANCH`, default
main), else the path relative to the repository root — never the server's own path, which would be a dead link in
an operator's browser and show the server's layout. The settings are read when Dagster loads the code location
(definitions.py), not when this module is imported.
"""

import inspect
import os
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

import campaign_ops
from campaign_ops.errors import ConfigError

CODE_REFERENCES = "dagster/code_references"
REPOSITORY_URL_ENV_VAR = "CAMPAIGN_OPS_REPOSITORY_URL"
REPOSITORY_BRANCH_ENV_VAR = "CAMPAIGN_OPS_REPOSITORY_BRANCH"
DEFAULT_BRANCH = "main"


@contextmanager
def quiet() -> Iterator[None]:
    """Code references are beta in Dagster 1.13 (so is map_asset_specs): said here once, not on every CLI call."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        warnings.simplefilter("ignore", dg.BetaWarning)
        yield


with quiet():
    # the package sits at the repository's root, installed or not: paths inside the repository follow from it
    _PATHS = dg.AnchorBasedFilePathMapping(
        local_file_anchor=Path(campaign_ops.__file__), file_anchor_path_in_repository="campaign_ops/__init__.py"
    )


@dataclass(frozen=True)
class RepositoryLink:
    """The repository the code is browsed in: its URL on GitHub or GitLab, and the branch."""

    url: str
    branch: str = DEFAULT_BRANCH

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "RepositoryLink | None":
        env = os.environ if env is None else env
        url = env.get(REPOSITORY_URL_ENV_VAR, "").strip().rstrip("/")
        if not url:
            return None
        if not url.startswith(("https://", "http://")):
            raise ConfigError(f"{REPOSITORY_URL_ENV_VAR} must be an http(s) URL of the repository, got {url!r}")
        return cls(url, env.get(REPOSITORY_BRANCH_ENV_VAR, "").strip() or DEFAULT_BRANCH)

    def file_url(self, path: str, line: int | None) -> str:
        tree = "/-/blob/" if "gitlab" in self.url else "/blob/"
        return f"{self.url}{tree}{self.branch}/{path}" + (f"#L{line}" if line else "")


def code_of(function: Callable[..., Any]) -> dict[str, dg.CodeReferencesMetadataValue]:
    """The metadata that links a declared asset to the function that does its work (its file and line)."""
    path = inspect.getsourcefile(function)
    assert path is not None, function
    with quiet():
        reference = dg.LocalFileCodeReference(
            file_path=path,
            line_number=inspect.getsourcelines(function)[1],
            label=f"{function.__module__}.{function.__qualname__}",
        )
        return {CODE_REFERENCES: dg.CodeReferencesMetadataValue(code_references=[reference])}


def _in_repository(
    reference: dg.LocalFileCodeReference | dg.UrlCodeReference, repository: RepositoryLink | None
) -> dg.LocalFileCodeReference | dg.UrlCodeReference:
    if not isinstance(reference, dg.LocalFileCodeReference):
        return reference
    path = _PATHS.convert_to_source_control_path(Path(reference.file_path))
    if repository is None:
        return dg.LocalFileCodeReference(file_path=path, line_number=reference.line_number, label=reference.label)
    return dg.UrlCodeReference(url=repository.file_url(path, reference.line_number), label=reference.label)


def with_source_links(defs: dg.Definitions, repository: RepositoryLink | None) -> dg.Definitions:
    """`defs` with each asset's code references as paths in the repository (URLs when `repository` is given)."""
    with quiet():
        return _with_source_links(defs, repository)


def _with_source_links(defs: dg.Definitions, repository: RepositoryLink | None) -> dg.Definitions:

    def relinked(spec: dg.AssetSpec) -> dg.AssetSpec:
        value = spec.metadata.get(CODE_REFERENCES)
        if not isinstance(value, dg.CodeReferencesMetadataValue):
            return spec
        references = dg.CodeReferencesMetadataValue(
            code_references=[_in_repository(r, repository) for r in value.code_references]
        )
        return spec.merge_attributes(metadata={CODE_REFERENCES: references})

    linked = dg.Definitions(
        assets=dg.with_source_code_references(list(defs.assets or [])),
        asset_checks=defs.asset_checks,
        jobs=defs.jobs,
        schedules=defs.schedules,
        sensors=defs.sensors,
        resources=defs.resources,
        executor=defs.executor,
        loggers=defs.loggers,
        metadata=defs.metadata,
    )
    return linked.map_asset_specs(func=relinked)
