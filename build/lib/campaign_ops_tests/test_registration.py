"""Every job, schedule, sensor, asset and asset check any module of the package defines is registered in `defs`.

Seed 003's unregistered routes, prevented: a capability that builds a sensor and forgets to add it to its
`Definitions` (or whose `Definitions` is not merged into campaign_ops/definitions.py) fails here, by name.
"""

import importlib
import pkgutil
import types
from collections.abc import Iterable, Iterator

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

import campaign_ops
from campaign_ops.definitions import defs

# not Dagster code: Alembic's environment runs migrations when imported; `python -m` entry points run the CLI
SKIPPED_PREFIXES = ("campaign_ops.db.alembic",)
SKIPPED_SUFFIXES = (".__main__",)


def package_modules() -> list[types.ModuleType]:
    names = [
        info.name
        for info in pkgutil.walk_packages(campaign_ops.__path__, prefix="campaign_ops.")
        if not info.name.startswith(SKIPPED_PREFIXES) and not info.name.endswith(SKIPPED_SUFFIXES)
    ]
    return [campaign_ops, *(importlib.import_module(name) for name in names)]


def _objects(value: object, depth: int = 0) -> Iterator[object]:
    """The value itself, or what a module-level list/tuple/dict/Definitions holds."""
    if depth > 3:
        return
    if isinstance(value, dg.Definitions):
        for group in (value.jobs, value.schedules, value.sensors, value.assets, value.asset_checks):
            for item in group or ():
                yield from _objects(item, depth + 1)
    elif type(value) in (list, tuple, set, frozenset):  # exact types: some Dagster definitions are NamedTuples
        for item in value:
            yield from _objects(item, depth + 1)
    elif type(value) is dict:
        for item in value.values():
            yield from _objects(item, depth + 1)
    else:
        yield value


def defined_objects(modules: Iterable[types.ModuleType]) -> Iterator[tuple[str, str, object]]:
    """(module, attribute, object) for every module-level Dagster definition."""
    for module in modules:
        for attribute, value in vars(module).items():
            if attribute.startswith("__"):
                continue
            for obj in _objects(value):
                yield module.__name__, attribute, obj


def unregistered(modules: Iterable[types.ModuleType], registry: dg.Definitions) -> list[str]:
    """Descriptions of the definitions the modules hold that `registry` does not carry."""
    asset_graph = registry.resolve_asset_graph()
    asset_keys = set(asset_graph.get_all_asset_keys())
    check_keys = set(asset_graph.asset_check_keys)
    job_names = {job.name for job in registry.resolve_all_job_defs()}
    schedule_names = {s.name for s in registry.schedules or ()}
    sensor_names = {s.name for s in registry.sensors or ()}

    missing: set[str] = set()
    for module, attribute, obj in defined_objects(modules):
        where = f"{module}.{attribute}"
        if isinstance(obj, dg.JobDefinition | UnresolvedAssetJobDefinition):
            if obj.name not in job_names:
                missing.add(f"job {obj.name!r} ({where})")
        elif isinstance(obj, dg.ScheduleDefinition):
            if obj.name not in schedule_names:
                missing.add(f"schedule {obj.name!r} ({where})")
        elif isinstance(obj, dg.SensorDefinition):
            if obj.name not in sensor_names:
                missing.add(f"sensor {obj.name!r} ({where})")
        elif isinstance(obj, dg.AssetChecksDefinition):
            for key in set(obj.check_keys) - check_keys:
                missing.add(f"asset check {key.to_user_string()} ({where})")
        elif isinstance(obj, dg.AssetsDefinition):
            for key in set(obj.keys) - asset_keys:
                missing.add(f"asset {key.to_user_string()} ({where})")
            for key in set(obj.check_keys) - check_keys:
                missing.add(f"asset check {key.to_user_string()} ({where})")
        elif isinstance(obj, dg.AssetSpec) and obj.key not in asset_keys:
            missing.add(f"asset spec {obj.key.to_user_string()} ({where})")
    return sorted(missing)


def test_every_definition_in_the_package_is_registered() -> None:
    modules = package_modules()
    found = list(defined_objects(modules))
    # the walk does see the package's definitions (otherwise the comparison below proves nothing)
    kinds = {type(obj).__name__ for _, _, obj in found}
    assert {"AssetsDefinition", "AssetChecksDefinition", "AssetSpec", "SensorDefinition"} <= kinds, kinds
    assert any(isinstance(obj, dg.ScheduleDefinition) for _, _, obj in found)
    assert any(isinstance(obj, UnresolvedAssetJobDefinition) for _, _, obj in found)
    assert unregistered(modules, defs) == []


def test_a_definition_left_out_of_defs_is_reported_by_name() -> None:
    """The control: a module with one job, schedule, sensor, asset and check that `defs` does not carry."""

    @dg.asset(name="forgotten_asset")
    def forgotten_asset() -> None:
        return None

    @dg.asset_check(asset=forgotten_asset, name="forgotten_check")
    def forgotten_check() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    forgotten_job = dg.define_asset_job("forgotten_job", selection=[forgotten_asset])

    @dg.sensor(job=forgotten_job, name="forgotten_sensor")
    def forgotten_sensor() -> None:
        return None

    module = types.ModuleType("campaign_ops.forgotten")
    module.forgotten_asset = forgotten_asset  # type: ignore[attr-defined]
    module.checks = [forgotten_check]  # type: ignore[attr-defined]
    module.defs = dg.Definitions(  # type: ignore[attr-defined]
        jobs=[forgotten_job],
        sensors=[forgotten_sensor],
        schedules=[dg.ScheduleDefinition(name="forgotten_schedule", cron_schedule="0 * * * *", job=forgotten_job)],
    )
    assert unregistered([module], defs) == [
        "asset check forgotten_asset:forgotten_check (campaign_ops.forgotten.checks)",
        "asset forgotten_asset (campaign_ops.forgotten.forgotten_asset)",
        "job 'forgotten_job' (campaign_ops.forgotten.defs)",
        "schedule 'forgotten_schedule' (campaign_ops.forgotten.defs)",
        "sensor 'forgotten_sensor' (campaign_ops.forgotten.defs)",
    ]
