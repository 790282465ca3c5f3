"""The services the benchmark starts: its database, Redis, the Stripe fake, the SMTP sink,
gunicorn and Celery workers."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench import procs
from bench.config import RESULTS, ROOT, WEBHOOK_SECRET, Config, log


def database_recreate(url: str, *, drop_only: bool = False) -> None:
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[a-z0-9_]+", name) or name in ("postgres", "template0", "template1"):
        raise SystemExit(f"Refusing to recreate database {name!r}: use a dedicated benchmark name.")
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if not drop_only:
            conn.execute(f"CREATE DATABASE {name}")


def redis_flush(*urls: str) -> None:
    import redis

    for url in urls:
        redis.Redis.from_url(url).flushdb()


@dataclass
class Stack:
    env: dict[str, str]
    port: int
    base: str
    gunicorn: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    sink_file: Path = RESULTS / "smtp-sink.txt"


def stack_start(config: Config) -> Stack:
    RESULTS.mkdir(parents=True, exist_ok=True)
    port = procs.free_port()
    smtp_port = procs.free_port()
    cache_url = f"{config.redis_url}/{config.cache_db}"
    broker_url = f"{config.redis_url}/{config.broker_db}"
    redis_flush(cache_url, broker_url)

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "STRIPE_", "CELERY_", "EMAIL_")) and k != "TESTING"
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "TESTING": "0",
            "BENCH": "1",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "SITE_URL": f"http://127.0.0.1:{port}",
            "DATABASE_URL": config.database_url,
            # Persistent connections, as production should run: a new PostgreSQL connection per
            # request costs more than most pages.
            "CONN_MAX_AGE": "600",
            "CACHE_URL": cache_url.replace("redis://", "rediscache://", 1),
            "PAGE_CACHE": "1",
            "CELERY_BROKER_URL": broker_url,
            "PAYMENT_GATEWAY": "stripe",
            "STRIPE_SECRET_KEY": "sk_test_bench",
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "RATELIMIT_ENABLE": "0",
            "ADMIN_REQUIRE_OTP": "0",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )

    fake = procs.start("stripe-fake", [procs.PYTHON, "-m", "bench.stripe_server"], env)
    fake_log = RESULTS / "stripe-fake.log"
    deadline = time.monotonic() + 20
    while "http://" not in (fake_log.read_text() if fake_log.exists() else ""):
        if fake.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("The Stripe fake did not start; see bench/results/stripe-fake.log")
        time.sleep(0.1)
    env["STRIPE_API_BASE"] = fake_log.read_text().split()[0]

    stack = Stack(env=env, port=port, base=f"http://127.0.0.1:{port}")
    stack.sink_file.write_text("")
    sink = [procs.PYTHON, "-m", "bench.smtp_sink", str(smtp_port), str(stack.sink_file)]
    procs.start("smtp-sink", sink, env)
    procs.wait_port(smtp_port)

    database_recreate(config.database_url)
    log("migrating the benchmark database")
    manage = [procs.PYTHON, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    return stack


# The command README.md, docs/deploy.md and deploy/systemd/fund-web.service give
# (tests/test_recipe.py checks they agree): every setting comes from gunicorn.conf.py, the
# processes and threads from WEB_CONCURRENCY and GUNICORN_THREADS, as on a server.
GUNICORN_ARGS = ("--config", "gunicorn.conf.py", "--bind", "{bind}", "config.wsgi")


def gunicorn_command(bind: str) -> list[str]:
    return [procs.PYTHON, "-m", "gunicorn", *(a.format(bind=bind) for a in GUNICORN_ARGS)]


# For the stages that measure the server's own cost of a donation start: Stripe's limits lifted
# (the site's Checkout rate, and the fake's 25/s, which applies to the usual key only). Labelled.
LIMITS_LIFTED = {"STRIPE_CHECKOUT_RATE": "1000000", "STRIPE_SECRET_KEY": "sk_test_unlimited"}


def gunicorn_start(
    stack: Stack,
    config: Config,
    *,
    override: list[str] | None = None,
    env_extra: dict[str, str] | None = None,
) -> None:
    """gunicorn as production runs it; `override` (extra command-line flags, which win over the
    file) only for a figure labelled as another configuration."""
    if stack.gunicorn is not None:
        procs.stop(stack.gunicorn)
    env = {**stack.env, **(env_extra or {})}
    if config.workers:
        env["WEB_CONCURRENCY"] = str(config.workers)
    if config.threads:
        env["GUNICORN_THREADS"] = str(config.threads)
    stack.gunicorn = procs.start(
        "gunicorn", [*gunicorn_command(f"127.0.0.1:{stack.port}"), *(override or [])], env
    )
    procs.wait_http(stack.base + "/healthz", proc=stack.gunicorn)


def celery_start(stack: Stack, count: int = 2) -> None:
    for n in range(count):
        stack.workers.append(
            procs.start(
                f"celery-{n + 1}",
                [
                    procs.PYTHON, "-m", "celery", "-A", "config", "worker",
                    "--pool", "solo", "-n", f"bench{n + 1}@%h",
                    "--without-gossip", "--without-mingle", "--without-heartbeat",
                    "--loglevel", "WARNING",
                ],
                stack.env,
            )
        )  # fmt: skip


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()
