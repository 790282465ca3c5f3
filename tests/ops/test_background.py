"""The organizer sees the background: when the worker, beat, the reconciliation and the last backup
last ran, in red when late; each is recorded by the process that did the work."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest
from celery.signals import before_task_publish, task_success
from django.core.management import CommandError, call_command
from django.utils import timezone

from donations.tasks import reconcile_stripe
from ops.models import Beat, Heartbeat
from ops.tasks import heartbeat
from tests.live import ROOT, process_env

pytestmark = pytest.mark.django_db


def _rows(html: str) -> dict[str, str]:
    import re

    return dict(re.findall(r'data-heartbeat="(\w+)" data-late="([01])"', html))


def test_admin_home_shows_each_job_and_marks_the_late_ones(admin_client, settings):
    settings.HEARTBEAT_SECONDS = 60
    now = timezone.now()
    Heartbeat.objects.create(name=Beat.WORKER, at=now - timedelta(seconds=30))
    Heartbeat.objects.create(name=Beat.BEAT, at=now - timedelta(minutes=10))
    Heartbeat.objects.create(name=Beat.BACKUP, at=now - timedelta(hours=30))

    html = admin_client.get("/admin/").content.decode()

    assert "Background work" in html
    # Never ran counts as late too (reconciliation here).
    assert _rows(html) == {"worker": "0", "beat": "1", "reconciliation": "1", "backup": "1"}
    assert html.count('<strong style="color:#ba2121">Late: expected within') == 3
    assert "Late: expected within 3 minutes" in html and "Late: expected within 26 hours" in html
    assert "On time" in html and "never" in html


def test_the_totals_dashboard_shows_them_too(admin_client, campaign):
    html = admin_client.get(f"/admin/donations/donation/dashboard/{campaign.pk}/").content.decode()
    assert "Background work" in html and 'data-heartbeat="worker"' in html


def test_the_worker_records_its_heartbeat_and_beat_its_own_when_sending_it():
    heartbeat.apply()
    before_task_publish.send(sender="ops.tasks.heartbeat", body=None, exchange="", routing_key="")
    before_task_publish.send(sender="donations.tasks.send_receipt", body=None, exchange="")

    names = set(Heartbeat.objects.values_list("name", flat=True))
    assert names == {"worker", "beat"}


def test_a_finished_reconciliation_is_recorded():
    task_success.send(sender=reconcile_stripe, result={"applied": 2})

    row = Heartbeat.objects.get(name=Beat.RECONCILIATION)
    assert row.detail == "{'applied': 2}"
    assert timezone.now() - row.at < timedelta(seconds=5)


def test_record_backup_needs_a_real_dump(tmp_path):
    empty = tmp_path / "fund.dump"
    empty.write_bytes(b"")
    with pytest.raises(CommandError, match="missing or empty"):
        call_command("record_backup", str(empty))
    empty.write_bytes(b"PGDMP....")
    call_command("record_backup", str(empty))
    assert Heartbeat.objects.get(name=Beat.BACKUP).detail == "fund.dump (9 bytes)"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_backup_script_dumps_and_records_it(tmp_path):
    result = subprocess.run(
        ["sh", str(ROOT / "deploy/backup.sh"), str(tmp_path)], cwd=ROOT, env=process_env(),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    dumps = list(tmp_path.glob("fund-*.dump"))
    assert len(dumps) == 1 and dumps[0].read_bytes()[:5] == b"PGDMP"
    assert Heartbeat.objects.get(name=Beat.BACKUP).detail.startswith(dumps[0].name)
