"""ID numbers never travel in page URLs.

A search box that a clerk fills with an ID number sends it in the query string (a GET form). Before any
view runs, `IdNumberQueryMiddleware` swaps each whole ID number in a page's query string for a short
token kept in the session (`?q=@Xy3k9a`) and redirects, so the number stays out of the address bar, the
browser history, links on the page and server log lines; filters turn the token back with `search_value`.
The API is left alone: its clients are programs, and they can POST their searches.
"""

from __future__ import annotations

import re
import secrets

from django.shortcuts import redirect

WHOLE_ID = re.compile(r"^\s*\d{17}[\dXx]\s*$")
SESSION_KEY = "id_search_tokens"
KEEP = 50  # tokens remembered per session


def search_value(request, value: str) -> str:
    """The text a clerk typed: a token from the query string is turned back into the ID number."""
    if request is not None and value.startswith("@") and hasattr(request, "session"):
        return request.session.get(SESSION_KEY, {}).get(value[1:], "")
    return value


class IdNumberQueryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "GET" and not request.path.startswith("/api/") and request.GET:
            params = request.GET.copy()
            tokens = dict(request.session.get(SESSION_KEY, {}))
            replaced = False
            for key, values in request.GET.lists():
                new = []
                for value in values:
                    if WHOLE_ID.match(value):
                        token = secrets.token_urlsafe(6)
                        tokens[token] = value.strip().upper()
                        new.append(f"@{token}")
                        replaced = True
                    else:
                        new.append(value)
                params.setlist(key, new)
            if replaced:
                request.session[SESSION_KEY] = dict(list(tokens.items())[-KEEP:])
                return redirect(f"{request.path}?{params.urlencode()}")
        return self.get_response(request)
