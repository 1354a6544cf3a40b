"""WSGI entry point: `gunicorn -w 2 --threads 8 mysite.wsgi` (threads: each waiting page
holds one for its event stream)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
application = get_wsgi_application()
