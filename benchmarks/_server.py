"""Shared set-up for the server benchmarks: start ``exact-lab serve`` (or any script) and wait."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "bench"

SERVE = """
import json, sys
from exact_lab.server_ext._serve import serve, serve_config
config = serve_config(port=int(sys.argv[1]), database_url=sys.argv[2],
                      allowed_roots=json.loads(sys.argv[3]), upload_dir=sys.argv[4])
config["ExactLabApp"].update(json.loads(sys.argv[5]))
serve(config)
"""


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running(argv: Sequence[str], probe: str, env: dict[str, str], log: Path) -> Iterator[None]:
    """Run ``argv`` until the block ends; wait until ``probe`` answers (any HTTP status)."""
    with log.open("wb") as out:
        process = subprocess.Popen(list(argv), env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    urllib.request.urlopen(probe, timeout=5)
                    break
                except urllib.error.HTTPError:
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(log.read_text()[-2000:]) from None
                    time.sleep(0.3)
            yield
        finally:
            process.terminate()
            process.wait(timeout=30)


@contextmanager
def exact_lab_server(
    url: str, folder: Path, roots: Sequence[Path], extra: dict[str, Any] | None = None
) -> Iterator[str]:
    """Run the extension standalone on ``url``; yield its ``http://.../exact`` base."""
    port = free_port()
    env = {
        **os.environ,
        "EXACT_LAB_DATA_DIR": str(folder / "data"),
        "JUPYTER_CONFIG_DIR": str(folder / "jupyter-config"),
        "JUPYTER_RUNTIME_DIR": str(folder / "runtime"),
    }
    argv = [
        sys.executable,
        "-c",
        SERVE,
        str(port),
        url,
        json.dumps([str(r) for r in roots]),
        str(folder / "uploads"),
        json.dumps(extra or {}),
    ]
    base = f"http://127.0.0.1:{port}/exact"
    with running(argv, f"{base}/api/status", env, folder / f"server-{port}.log"):
        yield base
