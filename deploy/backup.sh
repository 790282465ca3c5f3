#!/bin/sh
# pg_dump of DATABASE_URL into the folder given (default ./backups), kept 14 days here, recorded
# in the admin ("Last backup") only when the dump succeeded. Run by fund-backup.service.
set -eu
dir="${1:-backups}"
mkdir -p "$dir"
file="$dir/fund-$(date -u +%Y%m%dT%H%M%SZ).dump"
# pg_dump reads the URL (postgres://user:password@host:port/name) itself.
pg_dump --format=custom --no-owner --file="$file.partial" "$DATABASE_URL"
mv "$file.partial" "$file"
.venv/bin/python manage.py record_backup "$file"
find "$dir" -name 'fund-*.dump' -mtime +14 -delete
