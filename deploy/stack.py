"""The production shape on one machine, from the files a server uses: `make stack`, and the
deploy tests (tests/deploy/).

Nothing here has its own idea of how the site runs. The services are started from the `ExecStart=`
lines of deploy/systemd/*.service, nginx runs deploy/nginx/fund.conf, and the application is set
up by the commands docs/deploy.md gives after "Set up the application:". Only the folder
(/srv/fund), the ports and the certificate's path are changed, the way a tester or a second site
on the same machine would change them.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER_FOLDER = "/srv/fund"
SETUP_LINE = "Set up the application:"
SERVICES = ("fund-web", "fund-worker", "fund-beat")
# The ports and certificate of deploy/nginx/fund.conf and fund-web.service, as written there.
WEB_ADDRESS = "127.0.0.1:8000"
CERT_DIR = "/etc/letsencrypt/live/fund.example.org"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def setup_commands(docs: Path | None = None) -> str:
    """The fenced sh block right after the line "Set up the application:" in docs/deploy.md."""
    text = (docs or ROOT / "docs" / "deploy.md").read_text()
    match = re.search(re.escape(SETUP_LINE) + r"\n\n```sh\n(.*?)\n```", text, re.S)
    if match is None:
        raise ValueError(f'docs/deploy.md has no ```sh block right after "{SETUP_LINE}"')
    return match.group(1)


def unit_setting(unit: Path, key: str) -> str:
    """The value of one `Key=` line of a systemd unit."""
    for line in unit.read_text().splitlines():
        if line.startswith(f"{key}="):
            return line.split("=", 1)[1].strip()
    raise ValueError(f"{unit.name} has no {key}= line")


def env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as systemd's EnvironmentFile= reads them (comments, optional quotes)."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


class Stack:
    """nginx, gunicorn, a worker and beat for the application in `folder`.

    `env` is the service environment (what /srv/fund/.env holds on a server); the processes get
    it on top of a clean one, like systemd gives them, plus the unit's EnvironmentFile.
    """

    def __init__(
        self,
        folder: Path,
        *,
        env: dict[str, str],
        run_dir: Path,
        http_port: int | None = None,
        https_port: int | None = None,
        log: Callable[[str], None] = print,
    ) -> None:
        self.folder = folder.resolve()
        self.run_dir = run_dir.resolve()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.http_port = http_port or free_port()
        self.https_port = https_port or free_port()
        self.web_port = free_port()
        self.env = env
        self.log = log
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.url = f"https://127.0.0.1:{self.https_port}"

    # --- the recipe's files, adapted -----------------------------------------------------
    def _adapt(self, text: str) -> str:
        text = text.replace(SERVER_FOLDER, str(self.folder))
        return text.replace(WEB_ADDRESS, f"127.0.0.1:{self.web_port}")

    def service_env(self, unit: Path | None = None) -> dict[str, str]:
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": str(self.run_dir),
        }
        if unit is not None:
            env.update(env_file(Path(self._adapt(unit_setting(unit, "EnvironmentFile")))))
        env.update(self.env)
        return env

    def command(self, service: str) -> list[str]:
        unit = ROOT / "deploy" / "systemd" / f"{service}.service"
        return shlex.split(self._adapt(unit_setting(unit, "ExecStart")))

    def nginx_conf(self) -> Path:
        """deploy/nginx/fund.conf with this stack's ports, folder and certificate."""
        site = self._adapt((ROOT / "deploy" / "nginx" / "fund.conf").read_text())
        site = re.sub(r"listen (\[::\]:)?80;", lambda m: f"listen 127.0.0.1:{self.http_port};"
                      if not m.group(1) else "", site)  # fmt: skip
        site = re.sub(r"listen (\[::\]:)?443 ssl http2;", lambda m: (
            f"listen 127.0.0.1:{self.https_port} ssl http2;" if not m.group(1) else ""
        ), site)  # fmt: skip
        site = site.replace(f"{CERT_DIR}/fullchain.pem", str(self.run_dir / "cert.pem"))
        site = site.replace(f"{CERT_DIR}/privkey.pem", str(self.run_dir / "key.pem"))
        site = site.replace("/var/www/letsencrypt", str(self.run_dir / "acme"))
        (self.run_dir / "fund.conf").write_text(site)
        temp = self.run_dir / "nginx-temp"
        temp.mkdir(exist_ok=True)
        user = "user root;\n" if os.geteuid() == 0 else ""
        main = f"""{user}worker_processes 2;
pid {self.run_dir}/nginx.pid;
error_log {self.run_dir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {self.run_dir}/nginx-access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {self.run_dir}/fund.conf;
}}
"""
        path = self.run_dir / "nginx.conf"
        path.write_text(main)
        return path

    def certificate(self) -> None:
        """A self-signed certificate for 127.0.0.1, in place of Let's Encrypt's."""
        if (self.run_dir / "cert.pem").exists():
            return
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-days", "30", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
             "-keyout", str(self.run_dir / "key.pem"), "-out", str(self.run_dir / "cert.pem")],
            check=True, capture_output=True,
        )  # fmt: skip

    # --- running it ----------------------------------------------------------------------
    def setup(self) -> None:
        """Run docs/deploy.md's "Set up the application:" commands, literally, in the folder."""
        self.log("Setting up the application (docs/deploy.md)")
        unit = ROOT / "deploy" / "systemd" / "fund-web.service"
        result = subprocess.run(
            ["/bin/sh", "-e", "-c", setup_commands()], cwd=self.folder,
            env=self.service_env(unit), capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        (self.run_dir / "setup.log").write_text(result.stdout + result.stderr)
        if result.returncode != 0:
            raise RuntimeError(f"setup failed ({result.returncode}):\n{result.stderr[-3000:]}")

    def start_service(self, service: str) -> None:
        unit = ROOT / "deploy" / "systemd" / f"{service}.service"
        cwd = self._adapt(unit_setting(unit, "WorkingDirectory"))
        out = open(self.run_dir / f"{service}.log", "ab")  # noqa: SIM115 - closed with the process
        self.procs[service] = subprocess.Popen(
            self.command(service), cwd=cwd, env=self.service_env(unit),
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def start_nginx(self) -> None:
        self.certificate()
        conf = self.nginx_conf()
        (self.run_dir / "acme").mkdir(exist_ok=True)
        error_log = str(self.run_dir / "nginx-error.log")
        args = ["nginx", "-p", str(self.run_dir), "-c", str(conf), "-e", error_log]
        test = subprocess.run([*args, "-t"], capture_output=True, text=True)
        if test.returncode != 0:
            raise RuntimeError(f"nginx refused the configuration:\n{test.stderr}")
        self.procs["nginx"] = subprocess.Popen(
            [*args, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip

    def start(self) -> None:
        for service in SERVICES:
            self.start_service(service)
        self.start_nginx()
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    log = self.run_dir / f"{name}.log"
                    tail = log.read_text()[-3000:] if log.exists() else ""
                    raise RuntimeError(f"{name} exited with {proc.returncode}\n{tail}")
            if self.healthz() == 200:
                return
            time.sleep(0.2)
        raise RuntimeError(f"the site did not answer {self.url}/healthz within {timeout}s")

    def healthz(self) -> int:
        import ssl

        context = ssl.create_default_context(cafile=str(self.run_dir / "cert.pem"))
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", context=context, timeout=5) as r:
                return int(r.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except (urllib.error.URLError, OSError):
            return 0

    def stop(self) -> None:
        """Stop everything this stack started (each by its own process group), even half-started."""
        for name in ["nginx", *reversed(SERVICES), *self.procs]:
            proc = self.procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
            except ProcessLookupError:
                pass


# `make stack`'s mail server: bench/smtp_sink.py, one line per recipient in .stack/mail.log.
MAIL_PORT = int(os.environ.get("STACK_MAIL_PORT", "8025"))


def stack_env(run_dir: Path) -> dict[str, str]:
    """`make stack`'s settings: the local PostgreSQL and Redis, production otherwise. Variables
    already set in the environment win (STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET for real
    Stripe test mode; without them the demo gateway)."""
    secret_file = run_dir / "secret-key"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_urlsafe(64))
    env = {
        "DEBUG": "0",
        "SECRET_KEY": secret_file.read_text().strip(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/fund_stack",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/8",
        "CACHE_URL": "rediscache://127.0.0.1:6379/9",
        "EMAIL_URL": f"smtp://127.0.0.1:{MAIL_PORT}",
        "TRUSTED_PROXY_COUNT": "1",
        "STATIC_ROOT": str(run_dir / "static"),
    }
    passed = {k: v for k, v in os.environ.items() if k not in ("TESTING", "DEBUG")}
    env.update({k: v for k, v in passed.items() if k in _SETTINGS_READ})
    if not env.get("STRIPE_SECRET_KEY"):
        env["PAYMENT_GATEWAY"] = "demo"
    return env


# Variables the stack passes through from the caller's environment.
_SETTINGS_READ = {
    "SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EMAIL_URL",
    "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE", "PAYMENT_GATEWAY",
    "SENTRY_DSN", "LOG_LEVEL", "WEB_CONCURRENCY", "DEFAULT_FROM_EMAIL", "TIME_ZONE",
}  # fmt: skip


def _create_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    base = url.rsplit("/", 1)[0]
    exists = subprocess.run(
        ["psql", f"{base}/postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        capture_output=True, text=True,
    )  # fmt: skip
    if exists.stdout.strip() != "1":
        subprocess.run(["createdb", "--maintenance-db", f"{base}/postgres", name], check=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # Ctrl-C (and a plain `kill`) stop everything, even when started where SIGINT is ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    run_dir = ROOT / ".stack"
    run_dir.mkdir(exist_ok=True)
    env = stack_env(run_dir)
    http_port = int(os.environ.get("STACK_HTTP_PORT", "8080"))
    https_port = int(os.environ.get("STACK_HTTPS_PORT", "8443"))
    env["CSRF_TRUSTED_ORIGINS"] = f"https://127.0.0.1:{https_port},https://localhost:{https_port}"
    env["SITE_URL"] = f"https://127.0.0.1:{https_port}"
    stack = Stack(ROOT, env=env, run_dir=run_dir, http_port=http_port, https_port=https_port)
    missing = [tool for tool in ("nginx", "openssl", "psql", "createdb") if not shutil.which(tool)]
    if missing:
        print(f"make stack needs {', '.join(missing)}: apt-get install nginx openssl "
              "postgresql-client", file=sys.stderr)  # fmt: skip
        return 1
    try:
        stack.procs["mail"] = subprocess.Popen(
            [sys.executable, "-m", "bench.smtp_sink", str(MAIL_PORT), str(run_dir / "mail.log")],
            cwd=ROOT, start_new_session=True,
        )  # fmt: skip
        _create_database(env["DATABASE_URL"])
        stack.setup()
        subprocess.run(
            [str(ROOT / ".venv/bin/python"), "manage.py", "seed_demo"], cwd=ROOT,
            env=stack.service_env(), check=True,
        )  # fmt: skip
        stack.start()
        gateway = "Stripe" if env.get("PAYMENT_GATEWAY") != "demo" else "the demo gateway"
        print(
            f"\nThe site is on {stack.url}/ (self-signed certificate: accept it once) through"
            f" nginx, with gunicorn, a worker and beat; {gateway}. Logs in {run_dir}/."
            " Ctrl-C stops it.\n"
            f"An organizer account: DEBUG=1 DATABASE_URL={env['DATABASE_URL']} "
            ".venv/bin/python manage.py createsuperuser",
            flush=True,
        )
        while all(proc.poll() is None for proc in stack.procs.values()):
            time.sleep(0.5)
        print("A process stopped; see its log in .stack/. Stopping the rest.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping nginx, gunicorn, the worker and beat.", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
