"""deploy/constraints.txt, the exact versions the image installs, covers pyproject's dependencies (part of `make
test`: a dependency added to pyproject without `make constraints` fails here, not only in the image's build)."""

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def pins() -> dict[str, Version]:
    lines = (ROOT / "deploy" / "constraints.txt").read_text().splitlines()
    pairs = [line.split("==") for line in lines if line and not line.startswith("#")]
    return {canonicalize_name(name): Version(version) for name, version in pairs}


def test_every_dependency_is_pinned_within_pyproject_ranges() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pinned = pins()
    for line in [*project["dependencies"], *project["optional-dependencies"]["container"]]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement.name} is not in deploy/constraints.txt (run `make constraints`)"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (line, str(pinned[name]))


def test_every_pin_is_exact() -> None:
    """Each non-comment line is `name==version`: an open range would let the image drift between builds."""
    lines = (ROOT / "deploy" / "constraints.txt").read_text().splitlines()
    loose = [line for line in lines if line and not line.startswith("#") and line.count("==") != 1]
    assert loose == [] and len(pins()) > 50
