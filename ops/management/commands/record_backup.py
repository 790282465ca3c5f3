"""`manage.py record_backup FILE`: run by the backup service after pg_dump succeeded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.models import Beat
from ops.services import heartbeat_record


class Command(BaseCommand):
    help = "Record a finished database backup (shown in the admin, late after 26 hours)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The dump just written.")

    def handle(self, *args: Any, **options: Any) -> None:
        dump = Path(options["file"])
        if not dump.is_file() or dump.stat().st_size == 0:
            raise CommandError(f"{dump} is missing or empty: not recorded as a backup.")
        heartbeat_record(name=Beat.BACKUP, detail=f"{dump.name} ({dump.stat().st_size} bytes)")
        self.stdout.write(f"Recorded backup {dump.name}")
