"""gunicorn's settings for production (deploy/systemd/fund-web.service) and `make stack`.

Threads, not sync workers: a request waiting on Stripe or streaming the CSV export (a million
donations take about a minute) holds one thread, not a whole process, and in a gthread worker the
main loop keeps telling the arbiter it is alive, so a long request is never killed as "hung".
The bind address is on the service's command line, where nginx's upstream names it too.
"""

import multiprocessing
import os

worker_class = "gthread"
# WEB_CONCURRENCY processes (gunicorn's own variable), 2 per CPU by default, 4 threads each.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
# A worker that stops answering its arbiter for this long is restarted.
timeout = 120
# On restart (deploy), requests in flight get this long to finish.
graceful_timeout = 60
# nginx keeps connections to gunicorn open (upstream keepalive): a little longer than its idle.
keepalive = 75
# A slow leak cannot grow forever: each process is replaced after this many requests. Not
# fewer: a new process imports the whole application again (about a second of CPU here), so at
# 5,000 a rush of 300 requests a second replaced a process every few seconds, exactly when the
# CPU was needed (make bench measured it: 0.2-0.3 ms per request, half the floor's cost).
max_requests = 100_000
max_requests_jitter = 10_000
# Logs to the journal (stdout/stderr); the access log is nginx's.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# gunicorn 27 opens a control socket under $HOME unless told not to; the service user has no home.
control_socket_disable = True
# The client address comes from X-Forwarded-For in the app (core/client_ip.py), not from gunicorn.
forwarded_allow_ips = "127.0.0.1,::1"
