"""The cluster (tests/cluster/cluster.py) is started once for this folder's tests.

It needs root (network namespaces), iproute2, nginx, Redis and PostgreSQL's server binaries. On a
laptop without them the tests skip, saying what is missing; in CI (CI=true, or REQUIRE_CLUSTER=1
as .ci/run sets) they fail instead.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from tests.cluster import network, recipe
from tests.cluster.cluster import Cluster

TOOLS = ("ip", "unshare", "nginx", "redis-server", "openssl", "runuser")


def missing_prerequisites() -> list[str]:
    missing = [] if os.geteuid() == 0 else ["root (network namespaces)"]
    missing += [tool for tool in TOOLS if shutil.which(tool) is None]
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        missing.append("PostgreSQL server (/usr/lib/postgresql/*/bin/initdb)")
    return missing


def in_ci() -> bool:
    """CI sets CI=true; .ci/run also sets REQUIRE_CLUSTER=1 (as REQUIRE_BROWSER for tests/e2e)."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes") or bool(
        os.environ.get("REQUIRE_CLUSTER")
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if "cluster" in item.keywords]
    missing = missing_prerequisites() if ours and not in_ci() else []
    for item in ours if missing else []:
        item.add_marker(pytest.mark.skip(reason=f"cluster test needs {', '.join(missing)}"))


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # so every `finally` below still runs


@pytest.fixture(scope="package")
def cluster() -> Iterator[Cluster]:
    missing = missing_prerequisites()
    if missing:  # only reached in CI, where a missing prerequisite is an error
        pytest.fail(f"in CI the cluster test needs {', '.join(missing)} (.ci/run, as root)")
    atexit.register(network.remove_all)
    previous = signal.signal(signal.SIGTERM, _interrupted)
    scratch = Path(tempfile.mkdtemp(prefix="fundc-"))
    artifacts = recipe.ROOT / "test-artifacts" / "cluster"
    try:
        with Cluster(scratch, artifacts) as running:
            yield running
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture(scope="package")
def cluster_db(cluster: Cluster, django_db_blocker: Any) -> Iterator[None]:
    """This process's ORM pointed at the cluster's database on host `db` (not the test database):
    the test creates its scenario and checks the outcome there, as an operator's shell would."""
    conn = connections["default"]
    saved = dict(conn.settings_dict)
    with django_db_blocker.unblock():
        conn.close()
        conn.settings_dict.update(
            NAME="fund", USER="fund", PASSWORD="fund-db-password", HOST=cluster.db.address,
            PORT="5432",
        )  # fmt: skip
        try:
            yield
        finally:
            conn.close()
            conn.settings_dict.clear()
            conn.settings_dict.update(saved)
