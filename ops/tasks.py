"""The heartbeat: beat sends it every HEARTBEAT_SECONDS, a worker runs it.

Beat's side is recorded when it publishes the task (`signals.py`), the worker's when it runs it;
so a stopped beat and a stopped worker are told apart.
"""

from __future__ import annotations

import socket

from celery import shared_task

from .models import Beat
from .services import heartbeat_record


@shared_task(ignore_result=True, expires=300)
def heartbeat() -> None:
    heartbeat_record(name=Beat.WORKER, detail=socket.gethostname())
