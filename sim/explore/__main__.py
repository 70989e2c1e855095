"""``python -m sim.explore [--port N] [--host H] [--workers W]``: serve the browser explorer.

Starts Solara's server on the page ``sim.explore.app`` and prints its address; Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import socket
import subprocess
import sys

from sim.commands import at_least
from sim.explore import WORKERS_ENV, assets

APP = "sim.explore.app"
#: Exit code when the explorer cannot start here (solara missing): bad setup, not a crash.
EXIT_NOT_INSTALLED = 2


def free_port(host: str) -> int:
    """A port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def command(host: str, port: int) -> list[str]:
    """The ``solara run`` command serving the page."""
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        APP,
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-open",
        "--log-level",
        "warning",
    ]


def main(argv: list[str]) -> int:
    """Serve the explorer until interrupted; return the server's exit code."""
    parser = argparse.ArgumentParser(prog="python -m sim.explore", description=__doc__.split("\n\n")[1].strip())
    parser.add_argument(
        "--port",
        type=at_least(0, at_most=65535),
        default=8765,
        help="port to serve on (0: any free port; default 8765)",
    )
    parser.add_argument("--host", default="localhost", help="address to listen on (default localhost)")
    parser.add_argument(
        "--workers",
        type=at_least(0),
        default=None,
        help="worker processes for the runs (default: up to 4 cores; 0: none)",
    )
    args = parser.parse_args(argv)
    if importlib.util.find_spec("solara") is None:
        print("error: the explorer needs solara; install it with: pip install -e '.[explore]'", file=sys.stderr)
        return EXIT_NOT_INSTALLED
    port = args.port or free_port(args.host)
    env = dict(os.environ)
    if args.workers is not None:
        env[WORKERS_ENV] = str(args.workers)
    if assets.missing():
        print("Putting the page's scripts in Solara's asset cache from npm (once)...", flush=True)
        for failure in assets.ensure():
            print(f"warning: {failure}; the page will fetch it from Solara's CDN", file=sys.stderr)
    print(f"exportsim explorer: http://{args.host}:{port}  (Ctrl-C stops it)", flush=True)
    server = subprocess.Popen(command(args.host, port), env=env)
    try:
        return server.wait()
    except KeyboardInterrupt:  # the server got the same Ctrl-C
        try:
            return server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
