"""The recipe brought up as a user deploys it (docs/deploy.md), for the `deploy` tests.

One stack for the module, stopped when its tests are done: the repository copied to a fresh folder
(as `git clone` would give it), a fresh virtual environment, the folder's `.env`, docs/deploy.md's
"Set up the application:" commands run literally, then nginx (deploy/nginx/fund.conf), gunicorn,
a worker and beat started from deploy/systemd/ by `deploy.stack.Stack`, which changes only ports
and the folder. PostgreSQL
is the shared server (a `deploy_` database of its own); Redis is a private redis-server on its own
port, so the outage test can stop it. Payments go to the Stripe fake in this process.

They need PostgreSQL, Redis and nginx: they skip in CI's SQLite pass, and in its PostgreSQL pass
(REQUIRE_NGINX=1, set by .ci/run) a missing nginx is an error, not a skip.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller

from deploy.stack import ROOT, Stack, free_port
from tests.stripe_fake import StripeFake

from .http import Client

# aiosmtpd logs every SMTP command at INFO.
logging.getLogger("mail.log").setLevel(logging.WARNING)

# Its own database per run, so two runs on one machine never drop each other's.
DATABASE = f"deploy_stack_{os.getpid()}"
WEBHOOK_SECRET = "whsec_test_primary"
EXPORT_ROWS = 1_000_000
ORGANIZER_PASSWORD = "correct horse battery staple 42"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgres = os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql"))
    has_redis = os.environ.get("CELERY_BROKER_URL", "").startswith("redis")
    for item in items:
        if "deploy" in item.keywords and not (on_postgres and has_redis):
            item.add_marker(
                pytest.mark.skip(
                    reason="deploy tests need PostgreSQL and Redis (DATABASE_URL=postgres://..., "
                    "CELERY_BROKER_URL=redis://...): CI's second pass"
                )
            )


def _require(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if not missing:
        return
    message = f"deploy tests need {', '.join(missing)} (apt-get install nginx redis-server openssl)"
    if os.environ.get("REQUIRE_NGINX") == "1":
        pytest.fail(f"REQUIRE_NGINX=1 but {message}; .ci/run installs them", pytrace=False)
    pytest.skip(message)


def _pg(dbname: str = "postgres") -> psycopg.Connection:
    from urllib.parse import urlsplit

    url = urlsplit(os.environ["DATABASE_URL"])
    return psycopg.connect(
        host=url.hostname or "127.0.0.1", port=url.port or 5432, user=url.username or "postgres",
        password=url.password or None, dbname=dbname, autocommit=True,
    )  # fmt: skip


def stack_database_url() -> str:
    from urllib.parse import urlsplit

    url = urlsplit(os.environ["DATABASE_URL"])
    return url._replace(path=f"/{DATABASE}").geturl()


def _copy_checkout(folder: Path) -> None:
    """The repository's files as a clone has them: tracked and new files, nothing ignored
    (no .venv, no compiled .mo, no collected static files, no .env)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = ROOT / name
        if not source.is_file() or name.startswith("docs/screenshots/"):
            continue
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


class Mailbox:
    """The mail server the stack sends to: every message kept (receipts, error mail)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted for delivery"


class Redis:
    """A private redis-server on its own port: stopping it is this test's outage only."""

    def __init__(self, run_dir: Path) -> None:
        self.port = free_port()
        self.run_dir = run_dir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.run_dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ping = subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
            )
            if ping.stdout.strip() == "PONG":
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


@dataclass
class Deployed:
    stack: Stack
    folder: Path
    redis: Redis
    fake: StripeFake
    mailbox: Mailbox
    export_seed: subprocess.Popen[bytes]
    export_campaign_id: int
    setup_seconds: float

    def client(self, source: str) -> Client:
        return Client(self.stack.https_port, source=source, cafile=self.stack.run_dir / "cert.pem")

    def sql(self, query: str, *params: object) -> list[tuple[object, ...]]:
        with _pg(DATABASE) as conn:
            return conn.execute(query, params).fetchall()  # type: ignore[arg-type]

    def manage(self, *args: str, timeout: float = 120) -> str:
        result = subprocess.run(
            [str(self.folder / ".venv/bin/python"), "manage.py", *args], cwd=self.folder,
            env=self.stack.service_env(ROOT / "deploy/systemd/fund-web.service"),
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def log(self, service: str) -> str:
        return (self.stack.run_dir / f"{service}.log").read_text(errors="replace")


SEED_EXPORT = f"""
from bench.seed import counters_rebuild, donations_copy
from campaign.models import Campaign
campaign = Campaign.objects.get(slug="export-million")
donations_copy(campaign=campaign, count={EXPORT_ROWS})
counters_rebuild(campaign=campaign)
"""


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    _require("nginx", "redis-server", "redis-cli", "openssl")
    base = tmp_path_factory.mktemp("deploy")
    folder = base / "fund"
    folder.mkdir()
    run_dir = base / "run"
    fake = StripeFake().start()
    mailbox = Mailbox()
    mailbox.controller.start()
    redis = Redis(run_dir)
    stack = Stack(folder, env={}, run_dir=run_dir, log=lambda _: None)
    seed: subprocess.Popen[bytes] | None = None
    with _pg() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    try:
        redis.start()
        _copy_checkout(folder)
        # Step 2 of docs/deploy.md: a virtual environment of its own (its Python, not uv's here).
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        python = Path(sys.base_prefix) / "bin" / version
        subprocess.run([str(python), "-m", "venv", str(folder / ".venv")], check=True)
        origin = f"https://127.0.0.1:{stack.https_port}"
        settings = {
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": origin,
            "CSRF_TRUSTED_ORIGINS": origin,
            "DATABASE_URL": stack_database_url(),
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis.port}/0",
            "CACHE_URL": f"rediscache://127.0.0.1:{redis.port}/1",
            "EMAIL_URL": f"smtp://127.0.0.1:{mailbox.controller.port}",
            "TRUSTED_PROXY_COUNT": "1",
            "STATIC_ROOT": str(folder / "staticfiles"),
            "STRIPE_SECRET_KEY": "sk_test_fake",
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_API_BASE": fake.url,
            "STRIPE_MAX_NETWORK_RETRIES": "0",
            # Faster than production so the tests need not wait minutes for beat.
            "HEARTBEAT_SECONDS": "3",
            "SWEEP_EVERY_SECONDS": "5",
            "WEB_CONCURRENCY": "2",
        }
        (folder / ".env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        started = time.monotonic()
        stack.setup()
        setup_seconds = time.monotonic() - started
        deployed = Deployed(stack, folder, redis, fake, mailbox, None, 0, setup_seconds)  # type: ignore[arg-type]
        deployed.manage("seed_demo")
        deployed.manage(
            "shell", "-c",
            "from django.contrib.auth import get_user_model;"
            "get_user_model().objects.create_superuser("
            f"'organizer', 'organizer@example.org', {ORGANIZER_PASSWORD!r});"
            "from campaign.models import Campaign;"
            "from campaign.models import cad;"
            "Campaign.objects.create(slug='export-million', title='Export', story='x',"
            " legal_cost=cad(1000), community_goal=cad(1000), hourly_rate=cad(300))",
        )  # fmt: skip
        deployed.export_campaign_id = int(
            deployed.sql("SELECT id FROM campaign_campaign WHERE slug = 'export-million'")[0][0]  # type: ignore[call-overload]
        )
        stack.start()
        # A million donations for the export test, seeded while the other tests run.
        seed = subprocess.Popen(
            [str(folder / ".venv/bin/python"), "manage.py", "shell", "-c", SEED_EXPORT],
            cwd=folder, env=stack.service_env(ROOT / "deploy/systemd/fund-web.service"),
            stdout=open(run_dir / "seed.log", "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
        )  # fmt: skip
        deployed.export_seed = seed
        yield deployed
    finally:
        if seed is not None and seed.poll() is None:
            seed.kill()
            seed.wait(timeout=10)
        stack.stop()
        redis.stop()
        fake.stop()
        mailbox.controller.stop()
        with _pg() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
