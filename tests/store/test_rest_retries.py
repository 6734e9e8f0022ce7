"""RestStore reads survive a server restart and a proxy's 502/503/504; writes are never resent.

A real ``exact-lab serve`` is stopped and started again on the same port and database, and a
small forwarding proxy in front of a real server answers 503 a few times before forwarding.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from exact_lab.errors import ExactLabError
from exact_lab.store import connect
from exact_lab.store.rest import RestStore
from tests.store.conftest import free_port, launch, stop, wait_up


@pytest.fixture
def served(tmp_path: Path) -> Any:
    """A server on a SQLite file, a token of ``rita`` and her team; the server can restart."""
    db_url = f"sqlite:///{tmp_path / 'exact.sqlite'}"
    with connect(db_url, user="rita") as store:
        image_set = store.create_image_set(store.create_team("Rita's team"), "cases").id
        token = store.create_token("retries").plain
    port = free_port()
    processes = [launch(tmp_path, db_url, port)]
    base = wait_up(processes[0], tmp_path, port)

    def restart_later(delay: float) -> threading.Thread:
        def again() -> None:
            threading.Event().wait(delay)
            processes.append(launch(tmp_path, db_url, port))

        thread = threading.Thread(target=again)
        thread.start()
        return thread

    yield {"base": base, "token": token, "processes": processes, "restart_later": restart_later,
           "folder": tmp_path, "port": port, "image_set": image_set}  # fmt: skip
    for process in processes:
        stop(process)


def test_reads_wait_for_a_restarting_server_and_writes_do_not(served: dict[str, Any]) -> None:
    store = RestStore(served["base"], served["token"])
    assert [t.name for t in store.teams()] == ["Rita's team"]
    stop(served["processes"][0])
    starter = served["restart_later"](1.5)
    with pytest.raises(ExactLabError, match="cannot reach"):
        store.create_team("sent while the server was down")  # not retried
    assert [t.name for t in store.teams()] == ["Rita's team"]  # retried until the server is back
    starter.join()
    wait_up(served["processes"][-1], served["folder"], served["port"])
    assert store.annotations(image_set=served["image_set"]).empty  # an Arrow read, after it
    store.close()


def test_without_retries_a_read_fails_at_once(served: dict[str, Any]) -> None:
    store = RestStore(served["base"], served["token"], retry_for=0)
    assert store.user.username == "rita"
    stop(served["processes"][0])
    with pytest.raises(ExactLabError, match="cannot reach"):
        store.teams()
    store.close()


class FlakyProxy(ThreadingHTTPServer):
    """Forwards to ``target``, but answers ``status`` to the first ``failures`` of each path."""

    def __init__(self, target: str, failures: int, status: int) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.target, self.failures, self.status = target, failures, status
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(BaseHTTPRequestHandler):
    server: FlakyProxy

    def do_POST(self) -> None:  # http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:
            self.server.seen[self.path] += 1
            fail = self.server.seen[self.path] <= self.server.failures
        if fail:
            self.send_response(self.server.status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        request = urllib.request.Request(self.server.target + self.path, data=body, method="POST")
        for key in ("Authorization", "Content-Type"):
            if self.headers.get(key):
                request.add_header(key, self.headers[key])
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                status, payload, kind = answer.status, answer.read(), answer.headers["Content-Type"]
        except urllib.error.HTTPError as err:
            status, payload, kind = err.code, err.read(), err.headers["Content-Type"]
        self.send_response(status)
        self.send_header("Content-Type", kind or "application/octet-stream")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried_for_reads_only(served: dict[str, Any], status: int) -> None:
    real = served["base"].removesuffix("/exact")
    proxy = FlakyProxy(real, failures=2, status=status)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        store = RestStore(f"{proxy.url}/exact", served["token"])
        assert [t.name for t in store.teams()] == ["Rita's team"]
        assert proxy.seen["/exact/api/native/store/teams"] == 3  # two refusals, then through
        with pytest.raises(ExactLabError, match=f"HTTP {status}"):
            store.create_team(f"through a flaky proxy {status}")
        assert proxy.seen["/exact/api/native/store/create_team"] == 1  # never sent twice
        store.close()
    finally:
        proxy.shutdown()
        proxy.server_close()
