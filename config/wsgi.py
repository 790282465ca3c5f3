import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# Register every task now, before the first request: services ask for tasks by name
# (core/jobs.py), and a web process otherwise never imports the tasks modules.
from config.celery import app as celery_app  # noqa: E402

celery_app.loader.import_default_modules()
