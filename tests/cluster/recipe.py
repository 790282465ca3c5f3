"""The deployment recipe (`gunicorn.conf.py`, `deploy/`) read as a tester following it would.

Only what differs between one server and these test hosts is changed: `/srv/fund` becomes the
checkout, state folders (`/var/lib/fund`, `/run/fund`, ...) become the host's scratch folder, and in
the nginx site the upstream servers, listen addresses and certificate paths. While a recipe file is
missing from the repository, the stand-in of the same name in `standin/` is used and logged.
"""

from __future__ import annotations

import functools
import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STANDIN = Path(__file__).resolve().parent / "standin"
APP_FOLDER = "/srv/fund"
# Each host's own state (beat's schedule file, sockets): never one file shared by two hosts.
STATE_FOLDERS = (
    "/srv/fund/var", "/var/lib/fund", "/var/cache/fund", "/run/fund", "/var/run/fund",
    "/var/log/fund",
)  # fmt: skip

FILES = {
    "gunicorn.conf.py": ROOT / "gunicorn.conf.py",
    "fund.conf": ROOT / "deploy" / "nginx" / "fund.conf",
    "fund-web.service": ROOT / "deploy" / "systemd" / "fund-web.service",
    "fund-worker.service": ROOT / "deploy" / "systemd" / "fund-worker.service",
    "fund-beat.service": ROOT / "deploy" / "systemd" / "fund-beat.service",
}


def path(name: str) -> Path:
    real = FILES[name]
    if real.exists():
        return real
    _warn_standin(name)
    return STANDIN / name


@functools.cache
def _warn_standin(name: str) -> None:
    print(f"recipe: {name} is not in the repository yet; using tests/cluster/standin/{name}")


def _localise(text: str, scratch: Path) -> str:
    for folder in STATE_FOLDERS:
        text = re.sub(re.escape(folder) + r"(?=/|\b)", str(scratch), text)
    return text.replace(APP_FOLDER, str(ROOT))


def exec_start(unit: str, scratch: Path) -> list[str]:
    """The unit's `ExecStart=` command with paths localised (systemd's `-`/`@` prefixes dropped)."""
    text = path(unit).read_text().replace("\\\n", " ")
    lines = [line for line in text.splitlines() if line.strip().startswith("ExecStart=")]
    if len(lines) != 1:
        raise AssertionError(f"{unit}: expected one ExecStart= line, found {len(lines)}")
    command = lines[0].split("=", 1)[1].strip().lstrip("-@+!:")
    command = command.replace("$MAINPID", "")
    args = shlex.split(_localise(command, scratch))
    conf = str(FILES["gunicorn.conf.py"])
    return [str(path("gunicorn.conf.py")) if arg == conf else arg for arg in args]


def without_bind(command: list[str]) -> list[str]:
    """gunicorn's command without its `--bind`, so the harness gives the host's own address."""
    out: list[str] = []
    args = iter(command)
    for arg in args:
        if arg in ("--bind", "-b"):
            next(args, None)
        elif not (arg.startswith("--bind=") or (arg.startswith("-b") and len(arg) > 2)):
            out.append(arg)
    return out


def nginx_site(
    *, upstreams: list[str], listen: str, cert: Path, key: Path, scratch: Path
) -> tuple[str, str]:
    """The site file balancing over `upstreams` (host:port); returns (text, its server_name)."""
    text = _localise(path("fund.conf").read_text(), scratch)
    blocks = list(re.finditer(r"upstream\s+(\S+)\s*\{(.*?)\}", text, flags=re.S))
    if not blocks:
        raise AssertionError("fund.conf has no upstream block to balance over")
    for block in reversed(blocks):
        body = block.group(2)
        servers = list(re.finditer(r"^[ \t]*server\s+([^\s;]+)([^;\n]*);", body, flags=re.M))
        if not servers:
            raise AssertionError(f"upstream {block.group(1)} names no server")
        options = servers[0].group(2)
        first, last = servers[0].start(), servers[-1].end()
        lines = "\n".join(f"    server {u}{options};" for u in upstreams)
        body = body[:first] + lines + body[last:]
        text = text[: block.start(2)] + body + text[block.end(2) :]
    # Listen on the balancer host's address, same ports (the test network has no IPv6).
    text = re.sub(r"^\s*listen\s+\[::\]:.*$", "", text, flags=re.M)
    text = re.sub(r"^(\s*listen\s+)(?:[\d.]+:|\*:)?(\d+)", rf"\g<1>{listen}:\2", text, flags=re.M)
    text = re.sub(r"(ssl_certificate\s+)[^;]+;", rf"\g<1>{cert};", text)
    text = re.sub(r"(ssl_certificate_key\s+)[^;]+;", rf"\g<1>{key};", text)
    text = re.sub(r"(ssl_trusted_certificate\s+)[^;]+;", rf"\g<1>{cert};", text)
    text = re.sub(r"^\s*ssl_stapling.*$", "", text, flags=re.M)
    names = re.findall(r"server_name\s+([^;\s]+)", text)
    return text, (names[-1] if names else "_")


def nginx_main(*, site: Path, scratch: Path) -> str:
    """The http{} around the site, as Debian's /etc/nginx/nginx.conf gives it, in `scratch`."""
    return f"""
worker_processes 2;
pid {scratch}/nginx.pid;
error_log {scratch}/nginx-error.log warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    access_log {scratch}/nginx-access.log;
    client_body_temp_path {scratch}/client_temp;
    proxy_temp_path {scratch}/proxy_temp;
    fastcgi_temp_path {scratch}/fastcgi_temp;
    uwsgi_temp_path {scratch}/uwsgi_temp;
    scgi_temp_path {scratch}/scgi_temp;
    include {site};
}}
"""
