"""`make bench`, UI part: how long a person needs to find one client by name in the Dagster UI at N clients.

For each N (1,000 and 10,000 by default): a fresh app database with N demo clients (names "Demo Client 0001" …),
`campaign-ops dev` on a fresh instance, the partition sync sensor's first tick (N keys `demo-client-…--<uuid>`),
then Debian's chromium: the job's Partitions page → "Filter by name" → type the client's name slug; and the
backfill dialog ("Materialize…") → type the slug. Printed: seconds from the page request to the page ready, and
from the first keystroke to the client's key shown (the only match), each side by side per N.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from bench.common import admin_url, fresh_copy
from bench.service_bench import free_port
from campaign_ops.clients.partition_keys import client_names, partition_key
from campaign_ops.db.engine import make_engine
from campaign_ops.db.migrations import upgrade
from campaign_ops.demo.seed import seed_demo_data
from campaign_ops.service.dagster_api import DagsterApi, wait_for
from campaign_ops.service.environment import INSTANCE_YAML

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CAMPAIGN_OPS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
JOB = "de_enrollment_job"
SHOTS = ROOT / "artifacts" / "bench"


def page_text_of(key: str) -> str:
    """How the asset Partitions list shows a key this long: its first 14 and last 14 characters around "…"."""
    return f"{key[:14]}…{key[-14:]}" if len(key) > 30 else key


def measure(clients: int, admin: str) -> dict[str, float]:
    app = fresh_copy(admin, f"co_ui_bench_app_{clients}", None)
    instance = fresh_copy(admin, f"co_ui_bench_dagster_{clients}", None)
    upgrade(app)
    engine = make_engine(app, pooled=False)
    with engine.begin() as conn:
        seed_demo_data(conn, clients=clients, campaigns_per_client=1, leads=clients, seed=7)
        target_id = conn.exec_driver_sql(
            "SELECT id::text FROM clients WHERE company_name = %(n)s",
            {"n": "Demo Client " + f"{clients * 2 // 3:03d}"},
        ).scalar_one()
        name = client_names(conn, [target_id])[target_id]
    engine.dispose()
    key = partition_key(target_id, name)
    typed = name.lower()  # as a person types it: the filters ignore case
    # long keys are shown middle-truncated ("Demo Client 66…7-9103487344d7"), the full key in a tooltip
    shown = page_text_of(key)
    home = Path(tempfile.mkdtemp(prefix="co-ui-bench-"))
    (home / "dagster.yaml").symlink_to(INSTANCE_YAML)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": app, "DAGSTER_PG_URL": instance, "DAGSTER_HOME": str(home)}
    out = (home / "dev.out").open("wb")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "campaign-ops"),
            "dev",
            "--port",
            str(port),
            "--code-server-port",
            str(free_port()),
            "--log-dir",
            str(home),
        ],
        env=env,
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    figures: dict[str, float] = {}
    try:
        base = f"http://127.0.0.1:{port}"
        api = DagsterApi(base)
        wait_for("the webserver", lambda: "Ctrl-C stops all three" in (home / "dev.out").read_text(), 900)
        wait_for(f"{clients} partitions", lambda: len(api.job_partition_keys(JOB)) >= clients - 1, 600)
        SHOTS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            page.set_default_timeout(120_000)
            page.goto(base)
            skip = page.get_by_role("button", name="Skip")
            try:
                skip.wait_for(state="visible", timeout=20_000)
                skip.click()
            except Exception:
                pass
            started = time.monotonic()
            page.goto(f"{base}/locations/campaign_ops/jobs/{JOB}/partitions")
            expect(page.get_by_text("Total partitions")).to_be_visible()
            figures["job partitions page ready (s)"] = time.monotonic() - started
            started = time.monotonic()
            page.goto(f"{base}/assets/leads?view=partitions")
            box = page.get_by_placeholder("Filter by name…")
            box.wait_for()
            figures["asset partitions page ready (s)"] = time.monotonic() - started
            started = time.monotonic()
            box.fill(typed)
            expect(page.get_by_text(shown)).to_be_visible()
            figures["filter by name → client shown (s)"] = time.monotonic() - started
            page.screenshot(path=str(SHOTS / f"filter-{clients}.png"))
            page.goto(f"{base}/locations/campaign_ops/jobs/{JOB}/partitions")
            expect(page.get_by_text("Total partitions")).to_be_visible()
            started = time.monotonic()
            page.get_by_role("button", name="Materialize…").click()
            page.get_by_text("Select a partition or create one").click()
            page.keyboard.type(typed)
            expect(page.get_by_text(key, exact=True).first).to_be_visible()
            expect(page.get_by_text("Select all (1)")).to_be_visible()
            figures["backfill dialog: type → client offered (s)"] = time.monotonic() - started
            page.screenshot(path=str(SHOTS / f"backfill-dialog-{clients}.png"))
            browser.close()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    admin = admin_url()
    results = {}
    for n in args.clients:
        results[n] = measure(n, admin)
        print(f"{n:,} clients: " + ", ".join(f"{k} {v:.1f}" for k, v in results[n].items()), flush=True)
    rows = sorted({k for r in results.values() for k in r}, key=list(next(iter(results.values()))).index)
    print("| step | " + " | ".join(f"{n:,} clients" for n in results) + " |")
    print("|---|" + "---|" * len(results))
    for row in rows:
        print(f"| {row} | " + " | ".join(f"{results[n].get(row, float('nan')):.1f}" for n in results) + " |")


if __name__ == "__main__":
    main()
