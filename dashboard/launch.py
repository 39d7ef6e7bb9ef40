"""``buzz dashboard``: run the Streamlit app as a child process and pass stop signals on to it.

Streamlit is started as ``python -m streamlit run`` with the same interpreter, so it finds the
project's packages whatever is on PATH. The theme lives in ``dashboard/.streamlit``; how it runs
is set by the flags here, so that holds even where that file was not installed.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

from pipeline.netutil import port_in_use
from pipeline.settings import get_settings

APP = Path(__file__).resolve().parent / "app.py"
# Local only by default: the dashboard has no login, so it is not offered to the network
# unless BUZZ_DASHBOARD_HOST says so (containers set 0.0.0.0 and publish the port).
ADDRESS = "127.0.0.1"


def streamlit_command(port: int, address: str = ADDRESS) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", address,
        "--browser.gatherUsageStats", "false",
        # Staff only read the dashboard: no developer menu, and never a traceback in the
        # browser (pages show plain-language messages; details go to this process's log).
        "--client.toolbarMode", "minimal",
        "--client.showErrorDetails", "none",
        # Nobody edits the code of a running dashboard; watching files only costs CPU.
        "--server.fileWatcherType", "none",
    ]  # fmt: skip


def main(port: int | None = None) -> int:
    """Run the dashboard until it stops or is told to; return its exit code."""
    settings = get_settings()
    port = port or settings.dashboard_port
    address = settings.dashboard_host
    if port_in_use(address, port):
        print(
            f"buzz dashboard: port {port} on {address} is already in use (another dashboard?). "
            "Stop that one, or pick another port with `buzz dashboard --port N` or "
            "BUZZ_DASHBOARD_PORT.",
            file=sys.stderr,
        )
        return 1
    print(f"buzz dashboard: starting on http://{address}:{port}", file=sys.stderr, flush=True)
    child = subprocess.Popen(streamlit_command(port, address))

    def forward(signum: int, _frame: FrameType | None) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    # SIGTERM/SIGHUP come from a supervisor (buzz up, systemd, docker) to this process only, so
    # they are passed on. Ctrl-C reaches the whole process group, the child included, so the
    # parent only needs to stay alive until the child has shut down. (Set after Popen: an
    # ignored SIGINT would be inherited by the child.)
    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGHUP)}
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        code = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    # A child killed by a signal reports -N; shells and supervisors expect 128 + N.
    return 128 - code if code < 0 else code
