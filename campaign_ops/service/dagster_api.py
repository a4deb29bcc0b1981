"""The Dagster GraphQL calls a user's scripts or the UI make: launch, watch and read runs, partitions, backfills and
checks (the end-to-end tests, the deployment test and the benches use it)."""

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from campaign_ops.service.graphql import graphql
from campaign_ops.ui_url import CODE_LOCATION

REPOSITORY = {"repositoryName": "__repository__", "repositoryLocationName": CODE_LOCATION}
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}
T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout_seconds: float, interval: float = 1.0) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` and the last value after the deadline."""
    deadline = time.monotonic() + timeout_seconds
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout_seconds:.0f} s waiting for {what} (last: {last!r})")


@dataclass(frozen=True)
class DagsterApi:
    base_url: str

    def query(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return graphql(self.base_url, query, variables)

    # --- partitions and backfills ---------------------------------------------------------------------------------

    def job_partition_keys(self, job: str) -> list[str]:
        data = self.query(
            """query($repo: RepositorySelector!, $job: String!) {
                 partitionSetsOrError(repositorySelector: $repo, pipelineName: $job) {
                   ... on PartitionSets { results { partitionsOrError { ... on Partitions { results { name } } } } }
                 } }""",
            {"repo": REPOSITORY, "job": job},
        )
        sets = data["partitionSetsOrError"].get("results") or []
        return [p["name"] for s in sets for p in (s["partitionsOrError"].get("results") or [])]

    def job_asset_keys(self, job: str) -> list[list[str]]:
        """The asset keys (as paths) an asset job materializes."""
        data = self.query(
            """query($job: PipelineSelector!) { assetNodes(pipeline: $job) { assetKey { path } } }""",
            {"job": {**REPOSITORY, "pipelineName": job}},
        )
        return [node["assetKey"]["path"] for node in data["assetNodes"]]

    def launch_job_backfill(self, job: str, partition_keys: list[str]) -> dict[str, Any]:
        """launchPartitionBackfill over the job's partition set with the job's assets, as the UI's "Materialize…" →
        "Launch backfill" on the job's Partitions tab sends it (Dagster then plans the checks of those assets)."""
        data = self.query(
            """mutation($params: LaunchBackfillParams!) {
                 launchPartitionBackfill(backfillParams: $params) {
                   __typename
                   ... on LaunchBackfillSuccess { backfillId }
                   ... on Error { message }
                 } }""",
            {
                "params": {
                    "selector": {"partitionSetName": f"{job}_partition_set", "repositorySelector": REPOSITORY},
                    "assetSelection": [{"path": path} for path in self.job_asset_keys(job)],
                    "partitionNames": partition_keys,
                    "fromFailure": False,
                }
            },
        )
        return data["launchPartitionBackfill"]

    def backfills(self) -> list[dict[str, Any]]:
        data = self.query(
            """{ partitionBackfillsOrError { ... on PartitionBackfills {
                   results { id status numPartitions runs(limit: 50) { runId status } } } } }"""
        )
        return data["partitionBackfillsOrError"]["results"]

    # --- runs -----------------------------------------------------------------------------------------------------

    def runs(self, job: str | None = None, tags: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        run_filter: dict[str, Any] = {}
        if job:
            run_filter["pipelineName"] = job
        if tags:
            run_filter["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        data = self.query(
            """query($filter: RunsFilter) { runsOrError(filter: $filter, limit: 200) {
                 ... on Runs { results {
                   runId jobName status creationTime startTime endTime tags { key value } } } } }""",
            {"filter": run_filter},
        )
        runs = data["runsOrError"]["results"]
        for run in runs:
            run["tags"] = {t["key"]: t["value"] for t in run["tags"]}
        return runs

    def run(self, run_id: str) -> dict[str, Any]:
        data = self.query(
            """query($id: ID!) { runOrError(runId: $id) { __typename ... on Run {
                 runId status startTime endTime tags { key value }
                 assetMaterializations { assetKey { path } partition metadataEntries {
                   label ... on IntMetadataEntry { intValue } ... on TextMetadataEntry { text } } } } } }""",
            {"id": run_id},
        )
        run = data["runOrError"]
        run["tags"] = {t["key"]: t["value"] for t in run["tags"]}
        return run

    def launch_run(self, job: str, tags: Mapping[str, str], run_config: Mapping[str, Any]) -> str:
        """launchRun: what the Launchpad does (queued; the daemon starts it)."""
        data = self.query(
            """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
                 __typename ... on LaunchRunSuccess { run { runId } } ... on Error { message }
                 ... on RunConfigValidationInvalid { errors { message } } } }""",
            {
                "params": {
                    "selector": {**REPOSITORY, "jobName": job},
                    "runConfigData": dict(run_config),
                    "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
                }
            },
        )
        result = data["launchRun"]
        assert result["__typename"] == "LaunchRunSuccess", result
        return result["run"]["runId"]

    def run_messages(self, run_id: str) -> list[str]:
        data = self.query(
            """query($id: ID!) { logsForRun(runId: $id, limit: 1000) {
                 ... on EventConnection { events { ... on MessageEvent { message } } } } }""",
            {"id": run_id},
        )
        return [e.get("message") or "" for e in data["logsForRun"]["events"]]

    def run_errors(self, run_id: str) -> list[str]:
        """The error messages of a run's step and run failures (a failure's reason is not in its message)."""
        data = self.query(
            """query($id: ID!) { logsForRun(runId: $id, limit: 1000) {
                 ... on EventConnection { events {
                   ... on ExecutionStepFailureEvent { error { message } }
                   ... on RunFailureEvent { error { message } } } } } }""",
            {"id": run_id},
        )
        return [e["error"]["message"] for e in data["logsForRun"]["events"] if (e.get("error") or {}).get("message")]

    def run_worker_pid(self, run_id: str) -> int | None:
        """The run worker's pid, from Dagster's "Started process for run (pid: N)." engine event."""
        for message in self.run_messages(run_id):
            found = re.search(r"Started process for run \(pid: (\d+)\)", message)
            if found:
                return int(found.group(1))
        return None

    def wait_run_finished(self, run_id: str, timeout_seconds: float) -> dict[str, Any]:
        def finished() -> dict[str, Any] | None:
            run = self.run(run_id)
            return run if run["status"] in FINISHED else None

        return wait_for(f"run {run_id} to finish", finished, timeout_seconds)

    # --- asset checks ---------------------------------------------------------------------------------------------

    def check_executions(self, asset: str, check: str, limit: int = 20) -> list[dict[str, Any]]:
        data = self.query(
            """query($key: AssetKeyInput!, $check: String!, $limit: Int!) {
                 assetCheckExecutions(assetKey: $key, checkName: $check, limit: $limit) {
                   runId status partition
                   evaluation { timestamp success severity description metadataEntries {
                     label ... on IntMetadataEntry { intValue } } } } }""",
            {"key": {"path": [asset]}, "check": check, "limit": limit},
        )
        return data["assetCheckExecutions"]

    def stop_schedule(self, schedule: str) -> None:
        """Turn a schedule off (the UI's toggle), so a quarter-hour tick does not start a sweep mid-test."""
        data = self.query(
            """query($sel: ScheduleSelector!) { scheduleOrError(scheduleSelector: $sel) {
                 ... on Schedule { scheduleState { id selectorId } } } }""",
            {"sel": {**REPOSITORY, "scheduleName": schedule}},
        )
        state = data["scheduleOrError"]["scheduleState"]
        result = self.query(
            """mutation($id: String!) { stopRunningSchedule(id: $id) { __typename ... on Error { message } } }""",
            {"id": state["id"]},
        )
        assert result["stopRunningSchedule"]["__typename"] == "ScheduleStateResult", result

    def start_sensor(self, sensor: str) -> None:
        """Turn a sensor on (the UI's toggle)."""
        result = self.query(
            """mutation($sel: SensorSelector!) { startSensor(sensorSelector: $sel) {
                 __typename ... on Error { message } } }""",
            {"sel": {**REPOSITORY, "sensorName": sensor}},
        )
        assert result["startSensor"]["__typename"] == "Sensor", result

    def stop_sensor(self, sensor: str) -> None:
        """Turn a sensor off (the UI's toggle)."""
        data = self.query(
            """query($sel: SensorSelector!) { sensorOrError(sensorSelector: $sel) {
                 ... on Sensor { sensorState { id status } } } }""",
            {"sel": {**REPOSITORY, "sensorName": sensor}},
        )
        state = data["sensorOrError"]["sensorState"]
        if state["status"] != "RUNNING":
            return
        result = self.query(
            """mutation($id: String!) { stopSensor(id: $id) { __typename ... on Error { message } } }""",
            {"id": state["id"]},
        )
        assert result["stopSensor"]["__typename"] == "StopSensorMutationResult", result


def metadata_value(materialization: Mapping[str, Any], label: str) -> Any:
    for entry in materialization["metadataEntries"]:
        if entry["label"] == label:
            return entry.get("intValue", entry.get("text"))
    raise KeyError(label)
