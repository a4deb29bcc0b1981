"""A check sensor's tick as the daemon runs it, for the retention bench and the tests (which import it from here):
evaluated with the database resource, its evaluations recorded in the instance without a run."""

import dagster as dg

from campaign_ops.resources import DatabaseResource


def record_check_sensor_tick(
    sensor: dg.SensorDefinition, instance: dg.DagsterInstance, database: DatabaseResource
) -> dict[str, dg.AssetCheckEvaluation]:
    """One tick of `sensor`: its evaluations by check name, each recorded as the daemon records a sensor's asset
    events (`report_runless_asset_event`). A check sensor launches nothing and evaluates each check once."""
    data = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, resources={"database": database}))
    assert not data.run_requests
    assert data.skip_message and data.skip_message.startswith("evaluated without a run: "), data.skip_message
    found: dict[str, dg.AssetCheckEvaluation] = {}
    for event in data.asset_events:
        assert isinstance(event, dg.AssetCheckEvaluation)
        instance.report_runless_asset_event(event)
        found[event.check_name] = event
    assert found and len(found) == len(data.asset_events), "one evaluation per check per tick"
    return found
