"""Real Jupyter servers in subprocesses, for browser tests.

Each server gets its own config, runtime and data folders, a random token and a free port, so
tests never touch a user's Jupyter set-up or exact_lab store.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class JupyterProcess:
    """A running ``jupyter lab``/``voila`` server and how to reach it."""

    process: subprocess.Popen[bytes]
    port: int
    token: str
    root: Path
    log: Path
    base_url: str = "/"
    env: dict[str, str] = field(default_factory=dict)

    def url(self, path: str = "", *, with_token: bool = True) -> str:
        sep = "&" if "?" in path else "?"
        tail = f"{sep}token={self.token}" if with_token and self.token else ""
        return f"http://127.0.0.1:{self.port}{self.base_url}{path.lstrip('/')}{tail}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def start_jupyter(
    kind: str,
    workdir: Path,
    root: Path,
    *,
    extra_args: list[str] | None = None,
    env: dict[str, str] | None = None,
    ready_path: str = "api/status",
    base_url: str = "/",
    timeout: float = 60,
) -> JupyterProcess:
    """Start ``jupyter lab`` (kind="lab") or ``voila`` (kind="voila") and wait until it answers."""
    port = free_port()
    token = uuid.uuid4().hex
    for sub in ("config", "runtime", "data"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    child_env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(workdir / "config"),
        "JUPYTER_RUNTIME_DIR": str(workdir / "runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
        **(env or {}),
    }
    bindir = Path(sys.executable).parent
    settings = workdir / "settings"
    notification = (
        settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    )
    notification.parent.mkdir(parents=True, exist_ok=True)
    # no "get notified about Jupyter news?" toast over the widgets in screenshots
    notification.write_text('{"fetchNews": "false", "checkForUpdates": false}')
    # render every cell (no virtual scrolling), so tests can read all outputs and prompts
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True, exist_ok=True)
    tracker.write_text('{"windowingMode": "none"}')
    if kind == "lab":
        command = [
            str(bindir / "jupyter"),
            "lab",
            "--no-browser",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            f"--ServerApp.base_url={base_url}",
            "--LabApp.news_url=None",
            f"--LabApp.user_settings_dir={settings}",
            "--ServerApp.disable_check_xsrf=False",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
    elif kind == "voila":
        command = [
            str(bindir / "voila"),
            "--no-browser",
            f"--port={port}",
            "--Voila.ip=127.0.0.1",
            f"--Voila.root_dir={root}",
            f"--Voila.base_url={base_url}",
        ]
        token = ""
    else:
        raise ValueError(kind)
    if hasattr(os, "geteuid") and os.geteuid() == 0 and kind == "lab":
        command.append("--allow-root")
    command += extra_args or []
    log = workdir / f"{kind}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, env=child_env, cwd=root
        )
    server = JupyterProcess(process, port, token, root, log, base_url, child_env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{kind} exited with {process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(server.url(ready_path), timeout=2) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"{kind} did not answer within {timeout} s:\n{server.log_tail()}")


def copy_notebooks(source: Path, target: Path) -> Path:
    """Copy notebooks into a throwaway root so autosave never writes into the repository."""
    shutil.copytree(source, target, dirs_exist_ok=True)
    return target
