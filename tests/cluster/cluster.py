"""The deployed site on six hosts: db, web1, web2, lb, work1, work2 (docs/deploy.md, "Growing past
one machine").

`Cluster` starts each service the way the recipe does (the nginx site file, gunicorn with
`gunicorn.conf.py`, the worker and beat units' `ExecStart=`), with production settings (no DEBUG, no
TESTING) given only host addresses. The test process is host `ext`: Stripe (the fake), the mail
server (a sink counting messages) and the members sending requests through `lb`.
"""

from __future__ import annotations

import glob
import http.client
import logging
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from testing.stripe_fake import StripeFake
from tests.cluster import recipe
from tests.cluster.network import Host, Network

logger = logging.getLogger("cluster")

Headers = dict[str, str]
HOSTS = ("db", "web1", "web2", "lb", "work1", "work2")
WEB_PORT = 8000
WEBHOOK_SECRET = "whsec_test_primary"
SECRET_KEY = "cluster-test-secret-key-shared-by-every-web-and-worker-host-0123456789"


def wait_until(check: Callable[[], Any], *, timeout: float, what: str, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"Timed out after {timeout:.0f}s waiting for {what}")


class HostedStripeFake(StripeFake):
    """The Stripe fake listening on the `ext` host's address instead of loopback."""

    def __init__(self, address: str) -> None:
        super().__init__()
        self.server.server_close()
        self.server = ThreadingHTTPServer((address, 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


class MailSink:
    """An SMTP server on `ext` that keeps (recipient, subject) and the Message-ID of every message
    delivered."""

    def __init__(self, address: str) -> None:
        from aiosmtpd.controller import Controller

        logging.getLogger("mail.log").setLevel(logging.WARNING)  # one line per SMTP command
        sink = self
        self.lock = threading.Lock()
        self.messages: list[tuple[str, str]] = []
        self.ids: list[tuple[str, str]] = []  # (recipient, Message-ID)

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                message = message_from_bytes(envelope.content)
                subject = str(make_header(decode_header(message.get("Subject", ""))))
                with sink.lock:
                    for to in envelope.rcpt_tos:
                        sink.messages.append((to.lower(), subject))
                        sink.ids.append((to.lower(), str(message.get("Message-ID", ""))))
                return "250 OK"

        with socket.socket() as probe:
            probe.bind((address, 0))
            self.port = int(probe.getsockname()[1])
        self.controller = Controller(Handler(), hostname=address, port=self.port)
        self.controller.start()

    def count(self, match: Callable[[str, str], bool] = lambda to, subject: True) -> Counter[str]:
        with self.lock:
            return Counter(to for to, subject in self.messages if match(to, subject))

    def stop(self) -> None:
        self.controller.stop()


class Client:
    """One member's connection to the site through `lb` (HTTPS, a self-signed certificate)."""

    def __init__(
        self, address: str, server_name: str, *, port: int = 443, tls: bool = True,
        source: str | None = None,
    ) -> None:  # fmt: skip
        self.address, self.server_name, self.port, self.tls = address, server_name, port, tls
        self.source = (source, 0) if source else None
        self.conn: http.client.HTTPConnection | None = None
        self.cookies: dict[str, str] = {}

    def _connect(self) -> http.client.HTTPConnection:
        if self.conn is None:
            if self.tls:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                self.conn = http.client.HTTPSConnection(
                    self.address, self.port, timeout=30, context=context,
                    source_address=self.source,
                )  # fmt: skip
            else:
                self.conn = http.client.HTTPConnection(
                    self.address, self.port, timeout=30, source_address=self.source
                )
        return self.conn

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: Headers | None = None
    ) -> tuple[int, Headers, bytes]:
        """(status, headers, body); status 0 when the connection failed."""
        headers = {"Host": self.server_name, **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = self._connect()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            return 0, {}, b""
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Cluster:
    def __init__(self, scratch: Path, artifacts: Path) -> None:
        self.scratch = scratch
        self.artifacts = artifacts
        self.net = Network(HOSTS, scratch)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.db = self.net["db"]
        self.server_name = "_"
        self.fake: StripeFake | None = None
        self.mail: MailSink | None = None
        self.started = time.monotonic()

    # --- life cycle -----------------------------------------------------------------------
    def __enter__(self) -> Cluster:
        self.net.__enter__()
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.artifacts, ignore_errors=True)
        self.keep_logs(self.artifacts)
        for name in list(self.procs):
            self.stop(name)
        if self.fake is not None:
            self.fake.stop()
        if self.mail is not None:
            self.mail.stop()
        pg = self.db.scratch / "pg"
        if (pg / "postmaster.pid").exists():
            self.db.run(["runuser", "-u", "postgres", "--", *_pg("pg_ctl"), "-D", str(pg),
                         "stop", "-m", "immediate"], timeout=30)  # fmt: skip
        self.net.__exit__()

    def log(self, message: str) -> None:
        line = f"[cluster +{time.monotonic() - self.started:6.1f}s] {message}"
        print(line, flush=True)

    def _start(self) -> None:
        ext = self.net.ext_address
        self.log("hosts: ext (this test: Stripe, mail, members) " + ext + ", " + ", ".join(
            f"{h.name} {h.address}" for h in self.net.hosts.values()
        ))  # fmt: skip
        self.fake = HostedStripeFake(ext).start()
        self.mail = MailSink(ext)
        self._prepare_lb()
        self._start_postgres()
        self._start_redis()
        self.run_app(self.net["web1"], ["manage.py", "migrate", "--noinput", "-v0"])
        self.run_app(self.net["web1"], ["manage.py", "collectstatic", "--noinput", "-v0"])
        for name in ("web1", "web2"):
            self.start_web(name)
        self._start_lb()
        for name in ("work1", "work2"):
            self.start_worker(name)
        # The recipe runs beat on one host; here it was "accidentally" enabled on both.
        for name in ("work2", "work1"):
            self.start_beat(name)
        self.log("all services up")

    # --- the db host ------------------------------------------------------------------------
    def _start_postgres(self) -> None:
        pg = self.db.scratch / "pg"
        postgres = pwd.getpwnam("postgres")
        for folder in (self.scratch, self.db.scratch):
            folder.chmod(0o755)
        if pg.exists():
            shutil.rmtree(pg)
        pg.mkdir()
        os.chown(pg, postgres.pw_uid, postgres.pw_gid)
        as_postgres = ["runuser", "-u", "postgres", "--"]
        self.db.run([*as_postgres, *_pg("initdb"), "-D", str(pg), "-A", "trust", "-U", "postgres",
                     "--no-sync", "-E", "UTF8"])  # fmt: skip
        (pg / "postgresql.auto.conf").write_text(
            f"listen_addresses = '{self.db.address}'\nport = 5432\n"
            f"unix_socket_directories = '{pg}'\nfsync = off\nsynchronous_commit = off\n"
            "full_page_writes = off\nmax_connections = 200\nshared_buffers = 64MB\n"
            # As docs/deploy.md advises: a host that drops off the network mid-transaction
            # has its connection closed, and its row locks freed, within about a minute.
            "tcp_keepalives_idle = 30\ntcp_keepalives_interval = 10\ntcp_keepalives_count = 3\n"
        )
        # Password authentication over the network, as a database host would have it.
        (pg / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 10.203.0.0/24 scram-sha-256\n"
        )
        self.db.run([*as_postgres, *_pg("pg_ctl"), "-D", str(pg), "-l", str(pg / "log"),
                     "-w", "-t", "60", "start"], timeout=90)  # fmt: skip
        self.db.run([*as_postgres, *_pg("psql"), "-h", str(pg), "-q", "-c",
                     "CREATE ROLE fund LOGIN PASSWORD 'fund-db-password' CREATEDB",
                     "-c", "CREATE DATABASE fund OWNER fund"])  # fmt: skip
        self.log(f"db: PostgreSQL on {self.db.address}:5432 (its own cluster in {pg})")

    def _start_redis(self) -> None:
        self.procs["redis"] = self.db.start(
            ["redis-server", "--bind", self.db.address, "--port", "6379", "--save", "",
             "--appendonly", "no", "--dir", str(self.db.scratch), "--protected-mode", "no"],
            env=_base_env(self.db), log="redis",
        )  # fmt: skip
        wait_until(lambda: _can_connect(self.db.address, 6379), timeout=20, what="Redis")
        self.log(f"db: Redis on {self.db.address}:6379 (broker db 0, cache db 1)")

    # --- the application -------------------------------------------------------------------
    @property
    def database_url(self) -> str:
        return f"postgres://fund:fund-db-password@{self.db.address}:5432/fund"

    def app_env(self, host: Host) -> dict[str, str]:
        assert self.fake is not None and self.mail is not None
        ext = self.net.ext_address
        return {
            **_base_env(host),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": SECRET_KEY,
            "ALLOWED_HOSTS": self.server_name,
            "CSRF_TRUSTED_ORIGINS": f"https://{self.server_name}",
            "SITE_URL": f"https://{self.server_name}",
            "DATABASE_URL": self.database_url,
            "CELERY_BROKER_URL": f"redis://{self.db.address}:6379/0",
            "CACHE_URL": f"rediscache://{self.db.address}:6379/1",
            "PAYMENT_GATEWAY": "stripe",
            "STRIPE_SECRET_KEY": "sk_test_fake",
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_API_BASE": self.fake.url,
            "STRIPE_MAX_NETWORK_RETRIES": "0",
            "EMAIL_URL": f"smtp://{ext}:{self.mail.port}",
            "DEFAULT_FROM_EMAIL": "Legal Defense Fund <fund@example.org>",
            # The client address comes from the balancer's X-Forwarded-For, believed from lb only.
            "TRUSTED_PROXY_COUNT": "1",
            "TRUSTED_PROXIES": f"{self.net['lb'].address}/32",
            "STATIC_ROOT": str(recipe.ROOT / "staticfiles"),
            "RECONCILE_EVERY_SECONDS": "30",
            # gunicorn.conf.py's variable: 2 processes per web host on this shared 2-core machine.
            "WEB_CONCURRENCY": "2",
            "LOG_LEVEL": "INFO",
        }

    def beat_periods(self) -> dict[str, float]:
        """Each periodic task's period on the hosts (their settings, not this process's)."""
        from django.conf import settings

        periods = {e["task"]: float(e["schedule"]) for e in settings.CELERY_BEAT_SCHEDULE.values()}
        periods["donations.tasks.reconcile_stripe"] = float(
            self.app_env(self.net["work2"])["RECONCILE_EVERY_SECONDS"]
        )
        return periods

    def run_app(self, host: Host, args: list[str], timeout: float = 180) -> str:
        python = str(recipe.ROOT / ".venv" / "bin" / "python")
        env = self.app_env(host)
        return host.run([python, *args], env=env, cwd=recipe.ROOT, timeout=timeout).stdout

    def start_web(self, name: str) -> None:
        host = self.net[name]
        command = recipe.without_bind(recipe.exec_start("fund-web.service", host.scratch))
        command += ["--bind", f"{host.address}:{WEB_PORT}",
                    "--access-logfile", str(host.scratch / "access.log")]  # fmt: skip
        self.procs[name] = host.start(command, env=self.app_env(host), log="gunicorn",
                                      cwd=recipe.ROOT)  # fmt: skip
        wait_until(lambda: self._healthy(host), timeout=60, what=f"gunicorn on {name}")
        conf = recipe.path("gunicorn.conf.py")
        self.log(f"{name}: gunicorn on {host.address}:{WEB_PORT} ({conf})")

    def _healthy(self, host: Host) -> bool:
        proc = self.procs.get(host.name)
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"gunicorn on {host.name} exited: see {host.scratch}/gunicorn.log")
        status, _, _ = self.web_client(host.name).request("GET", "/healthz")
        return status == 200

    def web_client(self, name: str, *, source: str | None = None) -> Client:
        """A client talking straight to one web host (from `source`, one of network.MEMBERS)."""
        return Client(
            self.net[name].address, self.server_name, port=WEB_PORT, tls=False, source=source
        )

    def _prepare_lb(self) -> None:
        """Write the balancer's configuration first: its server_name is the site's host name."""
        lb = self.net["lb"]
        cert, key = lb.scratch / "fund.pem", lb.scratch / "fund.key"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=fund.test", "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        upstreams = [f"{self.net[w].address}:{WEB_PORT}" for w in ("web1", "web2")]
        text, self.server_name = recipe.nginx_site(
            upstreams=upstreams, listen=lb.address, cert=cert, key=key, scratch=lb.scratch
        )
        site = lb.scratch / "fund.conf"
        site.write_text(text)
        main = lb.scratch / "nginx.conf"
        main.write_text(recipe.nginx_main(site=site, scratch=lb.scratch))
        self.lb_upstreams = upstreams

    def _start_lb(self) -> None:
        lb = self.net["lb"]
        main = lb.scratch / "nginx.conf"
        upstreams = self.lb_upstreams
        lb.run(["nginx", "-t", "-q", "-e", str(lb.scratch / "nginx-error.log"), "-c", str(main)])
        self.procs["lb"] = lb.start(
            ["nginx", "-e", str(lb.scratch / "nginx-error.log"), "-c", str(main),
             "-g", "daemon off;"], env=_base_env(lb), log="nginx",
        )  # fmt: skip
        wait_until(lambda: _can_connect(lb.address, 443), timeout=20, what="nginx")
        self.log(f"lb: nginx on {lb.address}:443 balancing {' '.join(upstreams)} "
                 f"({recipe.path('fund.conf')}, server_name {self.server_name})")  # fmt: skip

    def lb_client(self, *, source: str | None = None) -> Client:
        """A client of the site through the balancer (from `source`, one of network.MEMBERS)."""
        return Client(self.net["lb"].address, self.server_name, source=source)

    def start_worker(self, name: str) -> None:
        host = self.net[name]
        command = recipe.exec_start("fund-worker.service", host.scratch)
        seen = len(self.read_log(name, "worker"))
        self.procs[name] = host.start(command, env=self.app_env(host), log="worker",
                                      cwd=recipe.ROOT)  # fmt: skip
        wait_until(lambda: "ready" in self.read_log(name, "worker")[seen:], timeout=60,
                   what=f"the worker on {name}")  # fmt: skip
        self.log(f"{name}: Celery worker ({' '.join(command[1:4])} ...)")

    def start_beat(self, name: str) -> None:
        host = self.net[name]
        command = recipe.exec_start("fund-beat.service", host.scratch)
        self.procs[f"{name}-beat"] = host.start(command, env=self.app_env(host), log="beat",
                                                cwd=recipe.ROOT)  # fmt: skip
        self.log(f"{name}: beat ({recipe.path('fund-beat.service').name} ExecStart)")

    def cut(self, name: str) -> None:
        """The host drops off the network and its worker dies with it (SIGKILL: no goodbye)."""
        self.net[name].link(False)
        self.stop(name, signal.SIGKILL)
        self.log(f"{name}: CUT OFF (eth0 down, worker killed with SIGKILL)")

    def restore(self, name: str) -> None:
        self.net[name].link(True)
        self.start_worker(name)
        beat = self.procs.get(f"{name}-beat")
        if beat is None or beat.poll() is not None:
            self.start_beat(name)  # as systemd's Restart= would
        self.log(f"{name}: back on the network, worker started again")

    def read_log(self, host: str, log: str) -> str:
        path = self.net[host].scratch / f"{log}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=timeout)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)

    def keep_logs(self, destination: Path) -> None:
        """Copy every host's logs next to the test report (CI keeps test-artifacts/)."""
        for log in glob.glob(str(self.scratch / "*" / "*.log")) + [
            str(self.db.scratch / "pg" / "log")
        ]:
            src = Path(log)
            if src.exists():
                target = destination / src.parent.name / src.name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(src, target)


def _pg(tool: str) -> list[str]:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"))
    if not found:
        raise AssertionError(f"PostgreSQL's {tool} is not installed (/usr/lib/postgresql/*/bin)")
    return [found[-1]]


def _base_env(host: Host) -> dict[str, str]:
    """What a fresh login on the host has: no variable of the test process leaks into it."""
    return {
        "PATH": f"{recipe.ROOT / '.venv' / 'bin'}:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": str(host.scratch),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "TMPDIR": str(host.scratch),
    }


def _can_connect(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False
