"""Which folder of the package imports which: no two capability folders import each other (lazy imports inside
functions count too), and bench/ imports the package only, never the tests.

`python -m campaign_ops_tests.test_layout` prints the picture.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import campaign_ops

PACKAGE = Path(campaign_ops.__file__).parent
BENCH = PACKAGE.parent / "bench"


def imported_modules(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def folder_imports() -> dict[str, dict[str, set[str]]]:
    """folder (or top-level module) of campaign_ops -> the other ones it imports -> the files that do."""
    found: dict[str, dict[str, set[str]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        source = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        for module in imported_modules(path):
            parts = module.split(".")
            if parts[0] == "campaign_ops" and len(parts) > 1 and parts[1] != source:
                found.setdefault(source, {}).setdefault(parts[1], set()).add(str(relative))
    return found


def mutual(found: dict[str, dict[str, set[str]]]) -> set[tuple[str, str]]:
    return {(a, b) for a, targets in found.items() for b in targets if a < b and a in found.get(b, {})}


def test_no_two_folders_of_the_package_import_each_other() -> None:
    found = folder_imports()
    assert found, "no folder imports another: the walk is wrong"
    pairs = {f"{a} <-> {b}: {sorted(found[a][b])} / {sorted(found[b][a])}" for a, b in mutual(found)}
    assert not pairs, pairs


def test_bench_imports_the_package_only() -> None:
    offending = {
        f"{path.name}: {module}"
        for path in sorted(BENCH.glob("*.py"))
        for module in imported_modules(path)
        if module.split(".")[0] == "campaign_ops_tests" or module.split(".")[:2] == ["campaign_ops", "cli"]
    }
    assert not offending, offending


if __name__ == "__main__":
    picture = folder_imports()
    for folder, targets in sorted(picture.items()):
        print(f"{folder:18} -> {', '.join(sorted(targets))}")
    for a, b in sorted(mutual(picture)):
        print(f"mutual: {a} <-> {b}")
