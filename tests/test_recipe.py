"""The deploy recipe's files agree with each other and with the code: every setting the code reads
is documented, the systemd units start from /srv/fund, nginx proxies to the address gunicorn binds,
and docs/deploy.md holds the setup block the deploy tests run (tests/deploy/)."""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from deploy.stack import SERVER_FOLDER, setup_commands, unit_setting

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "deploy" / "systemd"


def variables_read() -> set[str]:
    """Every environment variable settings.py and gunicorn.conf.py read."""
    text = (ROOT / "config" / "settings.py").read_text() + (ROOT / "gunicorn.conf.py").read_text()
    names = set(re.findall(r'\benv(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', text))
    names |= set(re.findall(r'\benv_or_fail\(\s*env\.\w+,\s*"([A-Z][A-Z0-9_]+)"', text))
    names |= set(re.findall(r'\benv_seconds\(\s*"([A-Z][A-Z0-9_]+)"', text))
    names |= set(re.findall(r'os\.environ(?:\.get)?[\[(]\s*"([A-Z][A-Z0-9_]+)"', text))
    return names


def test_the_variables_are_found():
    assert {
        "SECRET_KEY",
        "TRUSTED_PROXY_COUNT",
        "STATIC_ROOT",
        "WEB_CONCURRENCY",
        "MY_GIFTS_LINK_MAX_AGE",
    } <= variables_read()


def test_the_readme_table_lists_every_variable():
    table = "\n".join(
        line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| `")
    )
    missing = sorted(name for name in variables_read() if f"`{name}`" not in table)
    assert missing == [], f"README.md's settings table lacks {missing}"


def test_env_example_lists_every_variable():
    text = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, re.M))
    missing = sorted(variables_read() - listed)
    assert missing == [], f".env.example lacks {missing}"


def test_the_services_run_from_the_app_folder():
    for name in ("fund-web", "fund-worker", "fund-beat", "fund-backup"):
        unit = UNITS / f"{name}.service"
        assert unit_setting(unit, "WorkingDirectory") == SERVER_FOLDER
        assert unit_setting(unit, "EnvironmentFile") == f"{SERVER_FOLDER}/.env"
        assert shlex.split(unit_setting(unit, "ExecStart"))[0].startswith(f"{SERVER_FOLDER}/")


def test_beat_is_its_own_single_service_and_no_worker_runs_it():
    beat = shlex.split(unit_setting(UNITS / "fund-beat.service", "ExecStart"))
    worker = shlex.split(unit_setting(UNITS / "fund-worker.service", "ExecStart"))
    assert beat[1:4] == ["-A", "config", "beat"]
    assert "worker" in worker and "-B" not in worker and "--beat" not in worker


def test_nginx_proxies_to_the_address_gunicorn_binds():
    web = shlex.split(unit_setting(UNITS / "fund-web.service", "ExecStart"))
    assert web[web.index("--config") + 1] == f"{SERVER_FOLDER}/gunicorn.conf.py"
    bind = web[web.index("--bind") + 1]
    site = (ROOT / "deploy" / "nginx" / "fund.conf").read_text()
    assert re.search(rf"upstream fund_web \{{\s*server {re.escape(bind)};", site)
    # The headers the app trusts are set by nginx, never passed on from the client.
    for header in ("X-Forwarded-For $remote_addr", "X-Forwarded-Proto https", 'Forwarded ""'):
        assert f"proxy_set_header {header};" in site
    assert f"alias {SERVER_FOLDER}/staticfiles/;" in site


def _readme_gunicorn_command() -> list[str]:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    lines = [line for b in blocks for line in b.splitlines() if line.startswith("gunicorn ")]
    assert len(lines) == 1, f"README.md should give one gunicorn command, found {lines}"
    return shlex.split(lines[0].split("#")[0])


def _bench_gunicorn_args() -> list[str]:
    """bench/stack.py's GUNICORN_ARGS, read without importing the harness (it installs signal
    handlers)."""
    tree = ast.parse((ROOT / "bench" / "stack.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "GUNICORN_ARGS":
            return list(ast.literal_eval(node.value))
    raise AssertionError("bench/stack.py has no GUNICORN_ARGS")


def test_one_gunicorn_command_in_the_readme_the_unit_and_the_bench():
    readme = _readme_gunicorn_command()
    assert readme[:3] == ["gunicorn", "--config", "gunicorn.conf.py"], readme
    unit = shlex.split(unit_setting(UNITS / "fund-web.service", "ExecStart"))
    unit[0] = unit[0].removeprefix(f"{SERVER_FOLDER}/.venv/bin/")
    unit = [arg.removeprefix(f"{SERVER_FOLDER}/") for arg in unit]
    assert readme == unit, "README.md's gunicorn command differs from fund-web.service's"
    bench = ["gunicorn", *_bench_gunicorn_args()]
    bind = readme[readme.index("--bind") + 1]
    assert [arg.replace("{bind}", bind) for arg in bench] == readme
    # make stack runs the unit's ExecStart (deploy/stack.py reads it); docs/deploy.md gives it.
    deploy_doc = " ".join((ROOT / "docs" / "deploy.md").read_text().split())
    assert f"`{shlex.join(readme)}`" in deploy_doc


def test_the_setup_block_installs_from_the_lock_and_compiles_french():
    block = setup_commands()
    assert "pip install --require-hashes --no-deps -r requirements.lock" in block
    assert "manage.py migrate" in block and "manage.py collectstatic --noinput" in block
    assert "pybabel compile" in block
    text = (ROOT / "docs" / "deploy.md").read_text()
    assert text.count("Set up the application:") == 1


def test_the_lock_pins_every_requirement_with_hashes():
    lock = (ROOT / "requirements.lock").read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s\\]+)", lock, re.M))
    lowered = {name.lower().replace("_", "-"): version for name, version in pins.items()}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        name, version = re.split(r"==", line.split("#")[0].strip())
        name = re.sub(r"\[.*\]", "", name).lower().replace("_", "-")
        assert lowered.get(name) == version, f"{name}=={version} not in requirements.lock"
    hashed = re.findall(r"^[A-Za-z0-9_.\-]+==\S+ \\\n\s+--hash=sha256:[0-9a-f]{64}", lock, re.M)
    assert len(hashed) == len(pins)  # every pinned package carries its hashes


SETUP = "import django; django.setup(); from django.conf import settings as s"


def _settings_probe(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "RATELIMIT_IP_META_KEY"}
    return subprocess.run(
        [sys.executable, "-c", f"{SETUP}; {code}"],
        cwd=ROOT, env={**clean, "TESTING": "1", "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_static_root_comes_from_the_environment(tmp_path):
    result = _settings_probe("print(s.STATIC_ROOT)", STATIC_ROOT=str(tmp_path / "static"))
    assert result.stdout.strip() == str(tmp_path / "static"), result.stderr


def test_the_old_proxy_header_setting_is_refused_with_what_replaces_it():
    result = _settings_probe("print(1)", RATELIMIT_IP_META_KEY="HTTP_X_FORWARDED_FOR")
    assert result.returncode != 0
    assert "RATELIMIT_IP_META_KEY is no longer read: set TRUSTED_PROXY_COUNT" in result.stderr


def test_a_bad_proxy_network_is_refused():
    result = _settings_probe("print(1)", TRUSTED_PROXY_COUNT="1", TRUSTED_PROXIES="10.0.0.0/33")
    assert result.returncode != 0 and "TRUSTED_PROXIES is invalid" in result.stderr
