"""The ephemeral Prefect API server, started so that it dies with its parent and ignores a
terminal's Ctrl-C.

Prefect 3 starts the temporary server (when no ``PREFECT_API_URL`` is set) as a plain
``python -m uvicorn`` child in the caller's process group
(``prefect.server.api.server.SubprocessASGIServer._run_uvicorn_command``) and stops it from an
``atexit`` handler. So a Ctrl-C in a terminal (SIGINT to the whole group) kills the server while
the run goes on without it, and an abnormal exit (abort, ``kill -9``) leaves it running with
parent 1. :func:`install_server_guard` replaces that one method: the same command, run in its
own session (the terminal's SIGINT reaches only our process, which stops the server on exit),
behind a few lines that watch the parent and stop uvicorn once the parent is gone.
"""

from __future__ import annotations

import os
import sys
from typing import Any

# Runs in the server process: uvicorn as ``python -m uvicorn ARGS`` would, plus a thread that
# sends SIGTERM to the server (uvicorn's graceful shutdown) when its parent has died.
GUARD = """
import os, runpy, signal, sys, threading, time
parent = int(sys.argv[1])
def watch():
    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(10)
    os._exit(1)
threading.Thread(target=watch, daemon=True, name="parent-watch").start()
sys.argv = ["uvicorn", *sys.argv[2:]]
runpy.run_module("uvicorn", run_name="__main__", alter_sys=True)
"""


def install_server_guard() -> bool:
    """Start Prefect's ephemeral server guarded (see the module docstring). Returns False,
    and changes nothing, when a server is configured (``PREFECT_API_URL``)."""
    if os.environ.get("PREFECT_API_URL"):
        return False
    import subprocess

    import prefect
    from prefect.server.api import server
    from prefect.settings import get_current_settings

    cls = server.SubprocessASGIServer
    if getattr(cls, "_difffake_guarded", False):
        return True

    def _run_uvicorn_command(self: Any) -> subprocess.Popen[Any]:
        server_env = {
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
        }
        uvicorn_args = [
            "--app-dir", str(prefect.__module_path__.parent),
            "--factory", "prefect.server.api.server:create_app",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--log-level", "error", "--lifespan", "on",
        ]  # fmt: skip
        return subprocess.Popen(
            [sys.executable, "-c", GUARD, str(os.getpid()), *uvicorn_args],
            env={
                **os.environ,
                **server_env,
                **get_current_settings().to_environment_variables(exclude_unset=True),
            },
            start_new_session=True,
        )

    cls._run_uvicorn_command = _run_uvicorn_command
    cls._difffake_guarded = True
    return True
