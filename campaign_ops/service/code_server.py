"""The image's code server: `dagster api grpc` (the command `make dev` runs), stopped port first.

Told to stop, Dagster's code server keeps answering until the run workers it spawned have ended, and refuses every
launch meanwhile ("Tried to start a run on a server after telling it to shut down"); the queue daemon fails a run
refused that way instead of putting it back in the queue. A run queued behind one that the stop ends becomes
launchable exactly then (its slot frees when the stopped run records its failure), so a release failed it.

Here SIGTERM (or SIGINT) kills the server first, which closes its port: a launch now finds the code server
unreachable and the run goes back in the queue (dagster.yaml's `max_user_code_failure_retries`). Then the run
workers, in the server's process group, get SIGTERM and record their runs as failed, and this process leaves once
they are gone. Under the image's init (dumb-init), the container's SIGTERM reaches this process only: the server
runs in a session of its own.

    python -m campaign_ops.service.code_server dagster api grpc -m campaign_ops.definitions ...
"""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType

# how often the stop looks whether the run workers are gone (the container's grace period bounds the whole stop)
GONE_POLL_SECONDS = 0.1


def group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def serve(command: Sequence[str]) -> int:
    """Run `command` (the code server) until it exits or this process is told to stop; its exit code, or 0."""
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # its own session and process group: the run workers it spawns are in that group, and only this process gets
    # the init's signals
    server = subprocess.Popen(list(command), start_new_session=True)
    while not stop.is_set():
        try:
            exit_code = server.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            continue
        # exited on its own: run workers it left behind go with it, and the exit is the container's
        stop_group(server.pid)
        return exit_code
    server.kill()  # the port closes now, not when the run workers have ended
    server.wait()
    stop_group(server.pid)
    return 0


def stop_group(group: int) -> None:
    """SIGTERM to what is left of the server's process group (its run workers), then wait until it is gone."""
    try:
        os.killpg(group, signal.SIGTERM)
    except ProcessLookupError:
        return
    while group_alive(group):
        time.sleep(GONE_POLL_SECONDS)


def main() -> None:
    if len(sys.argv) < 2:
        print("usage: python -m campaign_ops.service.code_server <code server command ...>", file=sys.stderr)
        sys.exit(2)
    sys.exit(serve(sys.argv[1:]))


if __name__ == "__main__":
    main()
