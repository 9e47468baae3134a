"""Loaded by pytest (`-p portal.pytest_plugin`) before Django reads its settings.

Tests talk plain HTTP to the test client and the live server, with a fixed non-secret key; production
defaults (HTTPS-only cookies, HSTS, SSL redirect) stay on everywhere else.
"""

import os

os.environ.setdefault("SECURE_HTTPS", "0")
os.environ.setdefault("STATIC_MANIFEST", "0")
# The suite creates and migrates its own database, which is the schema owner's work (SECURITY.md, "Database
# roles"); tests/portal/test_database_roles.py checks what the runtime role may do.
os.environ.setdefault("DATABASE_AS_OWNER", "1")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
# Playwright's sync API runs an event loop in the test thread; the ORM calls around it are synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
