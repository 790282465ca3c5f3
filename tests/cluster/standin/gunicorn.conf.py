"""Stand-in for the repository's gunicorn.conf.py (see README.md)."""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = 120
graceful_timeout = 20
keepalive = 75  # longer than nginx keeps idle upstream connections (60 s)
accesslog = "-"
