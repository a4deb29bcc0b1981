"""The image's code-server command stops port first: on SIGTERM the server's port is closed before its run workers
have ended, and the command leaves only once they are gone (the containers test proves it with Dagster's own code
server; here a stand-in server and worker make the order observable)."""

import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from campaign_ops.service import code_server
from campaign_ops.service.dagster_api import wait_for

# a server that listens and spawns a worker, as `dagster api grpc` spawns run workers; like Dagster's, told to stop
# it waits for its worker, and the worker takes a while to end on SIGTERM, writing when it did
STAND_IN = textwrap.dedent(
    """
    import signal, socket, subprocess, sys, time
    out = sys.argv[1]
    worker = subprocess.Popen([sys.executable, "-c", '''
    import signal, sys, time
    def bye(*_):
        time.sleep(1.5)
        open(sys.argv[1], "a").write(f"worker gone {time.time()}\\\\n")
        sys.exit(0)
    signal.signal(signal.SIGTERM, bye)
    time.sleep(600)
    ''', out])
    signal.signal(signal.SIGTERM, lambda *_: (worker.wait(), sys.exit(0)))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    open(out, "a").write(f"port {listener.getsockname()[1]}\\n")
    while True:
        listener.accept()[0].close()
    """
)


def connectable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_sigterm_closes_the_port_before_the_run_workers_end_and_waits_for_them(tmp_path: Path) -> None:
    out = tmp_path / "events"
    script = tmp_path / "server.py"
    script.write_text(STAND_IN)
    wrapper = subprocess.Popen([sys.executable, "-m", code_server.__name__, sys.executable, str(script), str(out)])
    try:
        port = int(wait_for("the stand-in to listen", lambda: _port(out), 30, 0.1))
        assert connectable(port)
        time.sleep(0.5)  # the worker has set its handler
        wrapper.send_signal(signal.SIGTERM)
        signalled = time.time()
        wait_for("the port to close", lambda: not connectable(port), 5, 0.05)
        closed = time.time()
        assert wrapper.wait(timeout=30) == 0
        left = time.time()
    finally:
        wrapper.kill()
    worker_gone = float(out.read_text().split("worker gone ")[1].split()[0])
    # the port closed before the worker ended (the worker takes 1.5 s); the command left after the worker did
    assert closed - signalled < 1.0 < worker_gone - signalled
    assert worker_gone <= left


def test_a_server_that_exits_on_its_own_ends_the_command_with_its_exit_code() -> None:
    result = subprocess.run([sys.executable, "-m", code_server.__name__, sys.executable, "-c", "exit(3)"], timeout=30)
    assert result.returncode == 3


def _port(out: Path) -> str | None:
    text = out.read_text() if out.exists() else ""
    return text.split("port ")[1].split()[0] if "port " in text else None
