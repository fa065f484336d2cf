"""A real Redis (Debian's `redis-server`, installed by `scripts/setup --dev`) on a free loopback port, for one test:
started, killed (SIGKILL: nothing written, nothing said), restarted on the same port, and always stopped. With
`tls`, it speaks only TLS, with a self-signed certificate made by `openssl` for 127.0.0.1."""

from __future__ import annotations

import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    def __init__(self, folder: Path, password: str | None = None, tls: bool = False) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server not found: run scripts/setup --dev (it installs Debian's redis-server)")
        self.binary = binary
        self.folder = folder
        self.password = password
        self.port = free_port()
        self.certificate = folder / "cert.pem" if tls else None
        if self.certificate is not None:
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                 "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(folder / "key.pem"),
                 "-out", str(self.certificate)],
                check=True,
                capture_output=True,
            )  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        if self.certificate is not None:
            return f"rediss://{auth}127.0.0.1:{self.port}/0?ssl_ca_certs={self.certificate}"
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (again, on the same port), with nothing kept on disk, and wait until it answers."""
        options = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        if self.password:
            options += ["--requirepass", self.password]
        if self.certificate is not None:
            key = self.certificate.with_name("key.pem")
            options[:2] = ["--port", "0", "--tls-port", str(self.port), "--tls-auth-clients", "no"]
            options += ["--tls-cert-file", str(self.certificate), "--tls-key-file", str(key)]
        with (self.folder / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, *options, "--dir", str(self.folder)], stdout=log, stderr=log, cwd=self.folder
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"redis-server exited: {(self.folder / 'redis.log').read_text()[-1000:]}")
            if self._answers():
                return
            time.sleep(0.02)
        pytest.fail("redis-server did not answer within 10 s")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as probe:
                if self.certificate is None:
                    return _pings(probe)
                context = ssl.create_default_context(cafile=str(self.certificate))
                with context.wrap_socket(probe, server_hostname="127.0.0.1") as secure:
                    return _pings(secure)
        except OSError:
            return False

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None


def _pings(connection: socket.socket) -> bool:
    connection.sendall(b"PING\r\n")
    return connection.recv(64).startswith((b"+PONG", b"-NOAUTH"))
