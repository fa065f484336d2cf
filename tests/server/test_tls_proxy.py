"""docs/examples/nginx-tls.conf works as documented: Debian's nginx terminates TLS in front of a real `serve`,
and the browser page's routes and the stream are reached over https/wss with the token."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "examples" / "nginx-tls.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
TOKEN = "proxy-test-token-0123456789abcdef"
PUBLIC = "builds.example.com"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={PUBLIC}",
         "-addext", f"subjectAltName=DNS:{PUBLIC}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def nginx_config(folder: Path, tls_port: int, app_port: int, cert: Path, key: Path) -> Path:
    """The documented server block, with only the marked lines (and the ports) changed, in a minimal nginx.conf."""
    block = EXAMPLE.read_text()
    block = block.replace("listen 443 ssl;", f"listen 127.0.0.1:{tls_port} ssl;").replace("listen [::]:443 ssl;", "")
    block = block.replace("/etc/ssl/certs/builds.example.com.pem", str(cert))
    block = block.replace("/etc/ssl/private/builds.example.com.key", str(key))
    block = block.replace("127.0.0.1:8765", f"127.0.0.1:{app_port}")
    config = folder / "nginx.conf"
    config.write_text(
        f"daemon off;\nworker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\n"
        f"events {{ worker_connections 64; }}\n"
        f"http {{\naccess_log off;\nclient_body_temp_path {folder}/body;\nproxy_temp_path {folder}/proxy;\n"
        f"fastcgi_temp_path {folder}/fcgi;\nuwsgi_temp_path {folder}/uwsgi;\nscgi_temp_path {folder}/scgi;\n"
        f"{block}\n}}\n"
    )
    return config


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


@pytest.fixture
def proxied_serve(tmp_path: Path, sample_project: Path):
    if not os.path.exists(NGINX):
        pytest.fail("nginx is not installed (scripts/setup --dev installs nginx-light)")
    app_port, tls_port = free_port(), free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "buildrunner_gui", "serve", str(sample_project), "--host", "127.0.0.1",
         "--port", str(app_port), "--token", TOKEN, "--allow-origin", f"https://{PUBLIC}:{tls_port}",
         "--allow-origin", f"https://{PUBLIC}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )  # fmt: skip
    cert, key = self_signed(tmp_path)
    nginx = subprocess.Popen(
        [NGINX, "-p", str(tmp_path), "-c", str(nginx_config(tmp_path, tls_port, app_port, cert, key))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert serve.stdout is not None
        line = serve.stdout.readline()
        assert line.startswith("serving ws://"), line + (serve.stderr.read() if serve.poll() is not None else "")
        wait_for_port(tls_port)
        tls = ssl.create_default_context(cafile=str(cert))
        yield tls_port, line.strip().rsplit("/", 1)[-1], tls
    finally:
        nginx.send_signal(signal.SIGQUIT)
        serve.send_signal(signal.SIGTERM)
        for process in (nginx, serve):
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()


def https_get(port: int, path: str, tls: ssl.SSLContext, token: str | None) -> tuple[int, bytes]:
    """GET through the proxy as a client that resolves the public name to this machine."""
    request = urllib.request.Request(f"https://{PUBLIC}:{port}{path}")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    handler = urllib.request.HTTPSHandler(context=tls)
    opener = urllib.request.build_opener(handler)
    original = socket.getaddrinfo

    def resolve(host, *args, **kwargs):  # the public name is this machine, as a DNS entry would say
        return original("127.0.0.1" if host == PUBLIC else host, *args, **kwargs)

    socket.getaddrinfo = resolve
    try:
        with opener.open(request, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()
    finally:
        socket.getaddrinfo = original


def test_the_documented_nginx_config_serves_https_and_wss_with_the_token(proxied_serve, run):
    tls_port, session_id, tls = proxied_serve
    assert https_get(tls_port, "/healthz", tls, TOKEN) == (200, b"ok\n")
    assert https_get(tls_port, "/healthz", tls, None)[0] == 401  # the token still guards everything
    status, body = https_get(tls_port, f"/api/build/status/{session_id}", tls, TOKEN)
    assert status == 200 and json.loads(body)["project"]["name"]

    async def stream() -> None:
        tcp = socket.create_connection(("127.0.0.1", tls_port))  # the public name is this machine
        async with connect(
            f"wss://{PUBLIC}:{tls_port}/api/build/stream/{session_id}",
            sock=tcp,
            ssl=tls,
            additional_headers={"Authorization": f"Bearer {TOKEN}"},
            origin=f"https://{PUBLIC}:{tls_port}",  # as the browser page served through the proxy sends it
        ) as client:
            first = json.loads(await asyncio.wait_for(client.recv(), 10))
            second = json.loads(await asyncio.wait_for(client.recv(), 10))
            assert (first["type"], second["type"]) == ("connection", "status")
            assert second["state"]["feature_stats"]["total"] > 0

    run(stream())
