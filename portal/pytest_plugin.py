"""Loaded by pytest (`-p portal.pytest_plugin`) before Django reads its settings.

Tests talk plain HTTP to the test client and the live server, with a fixed non-secret key; production
defaults (HTTPS-only cookies, HSTS, SSL redirect) stay on everywhere else.
"""

import os

os.environ.setdefault("SECURE_HTTPS", "0")
os.environ.setdefault("STATIC_MANIFEST", "0")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
# Playwright's sync API runs an event loop in the test thread; the ORM calls around it are synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
