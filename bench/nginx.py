"""A throw-away nginx on loopback for benchmarks: our own config, http and https, one served dir.

Other bench scripts reuse it::

    with LocalNginx(root=dir_with_files) as ngx:
        ngx.http_url("/big.bin"); ngx.https_url("/big.bin"); ngx.ca_pem  # trustme CA

The TLS certificate is issued by a trustme CA for ``fal.media``, ``*.fal.media`` and
``localhost``, so clients can reach ``https://fal.media/...`` through a resolver mapping
(curl ``--resolve``, Downloader ``host_resolver_rules``) and still verify the real host name.
nginx runs in the foreground as our child (``daemon off``), stopped on exit.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

_CONF = """\
daemon off;
worker_processes 1;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    types {{ video/mp4 mp4; application/octet-stream bin; }}
    default_type video/mp4;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 30;
    server {{
        listen 127.0.0.1:{http_port};
        listen 127.0.0.1:{https_port} ssl;
        server_name fal.media *.fal.media localhost;
        ssl_certificate {tmp}/cert.pem;
        ssl_certificate_key {tmp}/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        root {root};
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_nginx() -> str:
    exe = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if exe is None:
        raise RuntimeError("nginx not found: apt-get install -y nginx-light")
    return exe


class LocalNginx:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
        self.http_port = free_port()
        self.https_port = free_port()
        self.ca_pem = self._tmp / "ca.pem"
        self._proc: subprocess.Popen[bytes] | None = None

    def http_url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.http_port}{path}"

    def https_url(self, path: str, host: str = "fal.media") -> str:
        return f"https://{host}:{self.https_port}{path}"

    def __enter__(self) -> LocalNginx:
        import trustme

        ca = trustme.CA()
        cert = ca.issue_cert("fal.media", "*.fal.media", "localhost", "127.0.0.1")
        ca.cert_pem.write_to_path(str(self.ca_pem))
        cert.private_key_pem.write_to_path(str(self._tmp / "key.pem"))
        cert.cert_chain_pems[0].write_to_path(str(self._tmp / "cert.pem"))
        for chain_pem in cert.cert_chain_pems[1:]:
            with open(self._tmp / "cert.pem", "ab") as f:
                f.write(chain_pem.bytes())
        # As root, workers would drop to "nobody", which may not read our files.
        user = "user root;" if os.geteuid() == 0 else ""
        conf = self._tmp / "nginx.conf"
        conf.write_text(_CONF.format(user=user, tmp=self._tmp, root=self.root.resolve(),
                                     http_port=self.http_port, https_port=self.https_port))
        self._proc = subprocess.Popen(
            [find_nginx(), "-c", str(conf), "-p", str(self._tmp), "-e", str(self._tmp / "err.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode() if self._proc.stderr else ""
                raise RuntimeError(f"nginx exited: {err}")
            try:
                socket.create_connection(("127.0.0.1", self.https_port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start listening")

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGQUIT)  # graceful stop
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        shutil.rmtree(self._tmp, ignore_errors=True)
