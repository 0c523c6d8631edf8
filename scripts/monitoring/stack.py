#!/usr/bin/env python3
"""A throw-away monitoring stack on loopback for the monitoring checks, as context managers.

    with demo_exporter() as demo, prometheus([demo.address], rule_files=rule_files()) as prom:
        prom.wait_for("entra_collector_up")
        print(prom.query("entra_collector_up"))

* `demo_exporter()`: `entra-exporter --demo` (target/debug, built by check.sh), waits for /readyz.
* `prometheus()`: Debian's Prometheus scraping the given targets every 2 s, evaluating the
  rule files every second, optionally sending alerts to an Alertmanager.
* `alertmanager()`: Debian's Alertmanager routing every alert to a webhook, with short waits.
* `webhook_receiver()`: an http.server that records every Alertmanager webhook payload.

Every process listens on a free 127.0.0.1 port, works in its own temporary directory, is stopped
when its `with` block ends (also on an exception or SIGTERM) and dies with its parent. A process
that does not come up raises StackError with the tail of its log.

Run it directly to start the demo and a Prometheus and keep them up: `stack.py [--seconds N]`.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator, Optional

REPO = Path(__file__).resolve().parents[2]
# ENTRA_EXPORTER_BIN points elsewhere when cargo builds into another target directory.
DEMO_BINARY = Path(os.environ.get("ENTRA_EXPORTER_BIN", REPO / "target" / "debug" / "entra-exporter"))
RULES_DIR = REPO / "prometheus" / "rules"
SETTINGS = REPO / "monitoring" / "settings.yaml"
DEFAULT_SELECTOR = 'job="entra-exporter"'


class StackError(RuntimeError):
    """A stack component failed to start or answer; the message carries its log tail."""


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (the kernel's pick; closed again before use)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def selector() -> str:
    """The exporter job selector from monitoring/settings.yaml (`job="entra-exporter"` without it)."""
    if SETTINGS.exists():
        import yaml

        value = (yaml.safe_load(SETTINGS.read_text()) or {}).get("selector")
        if value:
            return str(value).strip()
    return DEFAULT_SELECTOR


def scrape_labels(sel: Optional[str] = None) -> dict[str, str]:
    """The labels a scrape must carry to match the selector: its `name="value"` matchers."""
    labels = dict(re.findall(r'(\w+)\s*=\s*"([^"]*)"', sel if sel is not None else selector()))
    labels.setdefault("job", "entra-exporter")
    return labels


def rule_files() -> list[Path]:
    """The rule files the rules helper generates (prometheus/rules/*.yaml), possibly none yet."""
    return sorted(RULES_DIR.glob("*.yaml")) + sorted(RULES_DIR.glob("*.yml"))


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:]) or "(empty log)"


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _die_with_parent() -> None:
    # Linux PR_SET_PDEATHSIG: the child gets SIGTERM when this script dies, even by SIGKILL.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except OSError:
        pass


@dataclass
class Process:
    """A started child process with its log file."""

    name: str
    proc: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def fail(self, why: str) -> StackError:
        state = "running" if self.alive() else f"exited with {self.proc.returncode}"
        return StackError(f"{self.name} {why} ({state}); last lines of {self.log}:\n{log_tail(self.log)}")

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@contextlib.contextmanager
def _process(name: str, argv: list[str], workdir: Path) -> Iterator[Process]:
    if not shutil.which(argv[0]) and not Path(argv[0]).exists():
        raise StackError(f"{name}: {argv[0]} not found; run scripts/monitoring/check.sh, which installs it")
    log = workdir / f"{name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir, preexec_fn=_die_with_parent)
    p = Process(name, proc, log)
    try:
        yield p
    finally:
        p.stop()


def _wait(p: Process, url: str, timeout: float, ok: Callable[[int, bytes], bool] = lambda s, _: s == 200) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not p.alive():
            raise p.fail(f"exited before {url} answered")
        try:
            status, body = http_get(url, timeout=2)
            if ok(status, body):
                return
        except (urllib.error.URLError, ConnectionError, socket.timeout, OSError):
            pass
        time.sleep(0.5)
    raise p.fail(f"did not answer {url} within {timeout:.0f} s")


@contextlib.contextmanager
def _workdir(prefix: str, keep: Optional[Path] = None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as d:
        yield Path(d)


@contextlib.contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """SIGTERM raises SystemExit in the main thread, so every `finally` (teardown) runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous not in (signal.SIG_DFL, None):
        yield  # someone already handles it
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# ---------------------------------------------------------------------------------------------


@dataclass
class Demo:
    address: str  # host:port of /metrics
    log: Path

    @property
    def url(self) -> str:
        return f"http://{self.address}"


@contextlib.contextmanager
def demo_exporter(binary: Path = DEMO_BINARY, ready_timeout: float = 120.0) -> Iterator[Demo]:
    """`entra-exporter --demo` on a free port; yields once /readyz is 200 (every collector polled)."""
    if not binary.exists():
        raise StackError(f"{binary} is missing; build it with `cargo build --bin entra-exporter`")
    port = free_port()
    with _sigterm_as_exit(), _workdir("entra-demo-") as wd, _process(
        "entra-exporter-demo", [str(binary), "--demo", "--web.listen-address", f"127.0.0.1:{port}"], wd
    ) as p:
        _wait(p, f"http://127.0.0.1:{port}/readyz", ready_timeout)
        yield Demo(f"127.0.0.1:{port}", p.log)


@dataclass
class Prometheus:
    url: str
    log: Path
    data_dir: Path

    def api(self, path: str, **params: str) -> dict:
        query = urllib.parse.urlencode(params)
        status, body = http_get(f"{self.url}/api/v1/{path}?{query}", timeout=30)
        try:
            doc = json.loads(body)
        except json.JSONDecodeError:
            raise StackError(f"Prometheus answered {path} with HTTP {status}: {body[:300]!r}")
        return doc

    def query(self, expr: str, at: Optional[float] = None) -> dict:
        """/api/v1/query; returns the whole answer (status, data or errorType/error)."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        return self.api("query", **params)

    def query_range(self, expr: str, start: float, end: float, step: float) -> dict:
        return self.api("query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}", step=f"{step:g}")

    def series_count(self, expr: str) -> int:
        doc = self.query(expr)
        return len(doc.get("data", {}).get("result", [])) if doc.get("status") == "success" else 0

    def wait_for(self, expr: str, timeout: float = 60.0, min_series: int = 1) -> None:
        """Waits until `expr` returns at least `min_series` series."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.series_count(expr) >= min_series:
                return
            time.sleep(0.5)
        raise StackError(f"Prometheus: `{expr}` returned no data within {timeout:.0f} s; last lines of {self.log}:\n{log_tail(self.log)}")


@contextlib.contextmanager
def prometheus(
    targets: list[str],
    rule_files: list[Path] = (),
    alertmanager_url: Optional[str] = None,
    interval: str = "2s",
    evaluation_interval: str = "1s",
    data_dir: Optional[Path] = None,
    sel: Optional[str] = None,
    retention: str = "400d",
) -> Iterator[Prometheus]:
    """Debian's Prometheus scraping `targets` (host:port) under the exporter's job selector.

    `data_dir` lets a caller pre-fill the TSDB (e.g. blocks from `entra-exporter backfill`).
    """
    import yaml

    port = free_port()
    labels = scrape_labels(sel)
    job = labels.pop("job")
    with _sigterm_as_exit(), _workdir("entra-prom-") as wd:
        copied = []
        for i, f in enumerate(rule_files):
            # Copy, so a rules file rewritten meanwhile does not change what this run loaded.
            dst = wd / f"rules-{i}-{Path(f).name}"
            shutil.copyfile(f, dst)
            copied.append(str(dst))
        config = {
            # The demo's debug build can take most of a second to serve /metrics; a scrape that
            # times out marks every series stale, so scrapes get 2 s.
            "global": {"scrape_interval": interval, "scrape_timeout": interval, "evaluation_interval": evaluation_interval},
            "rule_files": copied,
            "scrape_configs": [{"job_name": job, "static_configs": [{"targets": list(targets), "labels": labels}]}],
        }
        if alertmanager_url:
            am = urllib.parse.urlparse(alertmanager_url)
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [am.netloc]}]}]}
        (wd / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        storage = data_dir or (wd / "data")
        storage.mkdir(parents=True, exist_ok=True)
        argv = [
            "prometheus",
            f"--config.file={wd / 'prometheus.yml'}",
            f"--storage.tsdb.path={storage}",
            f"--storage.tsdb.retention.time={retention}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ]
        with _process("prometheus", argv, wd) as p:
            _wait(p, f"http://127.0.0.1:{port}/-/ready", 60)
            yield Prometheus(f"http://127.0.0.1:{port}", p.log, storage)


@dataclass
class Alertmanager:
    url: str
    log: Path


@contextlib.contextmanager
def alertmanager(webhook_url: str, group_wait: str = "1s", group_interval: str = "1s", repeat_interval: str = "1h") -> Iterator[Alertmanager]:
    """Debian's Alertmanager sending every alert to `webhook_url`, clustering off."""
    import yaml

    port = free_port()
    with _sigterm_as_exit(), _workdir("entra-am-") as wd:
        config = {
            "route": {
                "receiver": "webhook",
                "group_by": ["alertname", "tenant"],
                "group_wait": group_wait,
                "group_interval": group_interval,
                "repeat_interval": repeat_interval,
            },
            "receivers": [{"name": "webhook", "webhook_configs": [{"url": webhook_url, "send_resolved": False}]}],
        }
        (wd / "alertmanager.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        argv = [
            "prometheus-alertmanager" if shutil.which("prometheus-alertmanager") else "alertmanager",
            f"--config.file={wd / 'alertmanager.yml'}",
            f"--storage.path={wd / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # no gossip port: a single instance on loopback
            "--log.level=warn",
        ]
        with _process("alertmanager", argv, wd) as p:
            _wait(p, f"http://127.0.0.1:{port}/-/ready", 60)
            yield Alertmanager(f"http://127.0.0.1:{port}", p.log)


@dataclass
class WebhookReceiver:
    url: str
    payloads: list[dict] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, predicate: Callable[[dict], bool], timeout: float) -> Optional[dict]:
        """The first payload (already received or arriving within `timeout`) that `predicate` accepts."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for payload in self.payloads[seen:]:
                    if predicate(payload):
                        return payload
                seen = len(self.payloads)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(timeout=left)


@contextlib.contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """An HTTP server on 127.0.0.1 that stores every JSON POST body (Alertmanager's webhook)."""
    receiver = WebhookReceiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
            try:
                payload = json.loads(body)
            except json.JSONDecodeError:
                payload = {"unparsable": body.decode(errors="replace")}
            with receiver._cond:
                receiver.payloads.append(payload)
                receiver._cond.notify_all()
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/alerts"
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Start the demo and a Prometheus with the rules, print their URLs, and wait.")
    parser.add_argument("--seconds", type=float, default=600, help="how long to keep the stack up")
    args = parser.parse_args()
    with demo_exporter() as demo, prometheus([demo.address], rule_files=rule_files()) as prom:
        print(f"demo exporter: {demo.url}/metrics\nprometheus:    {prom.url}", flush=True)
        time.sleep(args.seconds)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except StackError as e:
        print(f"stack: {e}", file=sys.stderr)
        sys.exit(1)
