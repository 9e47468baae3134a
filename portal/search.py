"""ID numbers never travel in page URLs.

Search forms that may hold an ID number are posted to `/search/` (`search_redirect`), which swaps each whole
ID number for a short token kept in the session and redirects to the list with `?q=@Xy3k9a`: the number never
reaches a URL, the browser history, a link on the page or a server log line (the access log of the web server
or proxy included, which writes the request line before any view runs). A number typed or pasted straight
into the address bar is caught by `IdNumberQueryMiddleware` the same way, before any view. Spaces and dashes
inside a number (`3607 3020 1001 0112 34`) do not hide it. Filters turn the token back with `search_value`.
The API is left alone: its clients are programs, and they can POST their searches.
"""

from __future__ import annotations

import re
import secrets
import unicodedata

from django.http import HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

WHOLE_ID = re.compile(r"[0-9]{17}[0-9X]")
# Anything between digits that is not a letter or a digit (spaces of every width, dashes, dots, slashes,
# underscores, middle dots, zero-width spaces) is taken as a separator a clerk typed.
_SEPARATORS = re.compile(r"[^0-9A-Za-z\u4e00-\u9fff]+")
_ID_INSIDE = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")
SESSION_KEY = "id_search_tokens"
KEEP = 50  # tokens remembered per session


def _whole_id(value: str) -> str | None:
    """The ID number a value is, however it was typed (full-width, spaced, dashed), or None."""
    compact = _SEPARATORS.sub("", unicodedata.normalize("NFKC", value)).upper()
    return compact if WHOLE_ID.fullmatch(compact) else None


def _holds_id(value: str) -> bool:
    """Whether a value carries an ID number anywhere (`张三 3607…`, `身份证:3607…`, two numbers)."""
    text = unicodedata.normalize("NFKC", value).upper()
    return bool(_ID_INSIDE.search(text) or _ID_INSIDE.search(_SEPARATORS.sub("", text)))


def search_value(request, value: str) -> str:
    """The text a clerk typed: a token from the query string is turned back into the ID number."""
    if request is not None and value.startswith("@") and hasattr(request, "session"):
        return request.session.get(SESSION_KEY, {}).get(value[1:], "")
    return _whole_id(value) or value


def _tokenised(request, params: QueryDict) -> tuple[QueryDict, bool]:
    """`params` with each whole ID number replaced by a session token."""
    tokens = dict(request.session.get(SESSION_KEY, {}))
    out = QueryDict(mutable=True)
    replaced = False
    for key, values in params.lists():
        new = []
        for value in values:
            number = _whole_id(value) or (value.strip() if _holds_id(value) else None)
            if number:
                token = secrets.token_urlsafe(6)
                tokens[token] = number
                new.append(f"@{token}")
                replaced = True
            elif value != "":
                new.append(value)
        if new:
            out.setlist(key, new)
    if replaced:
        request.session[SESSION_KEY] = dict(list(tokens.items())[-KEEP:])
    return out, replaced


@require_POST
def search_redirect(request):
    """A posted search form: back to its list page, with ID numbers as tokens (see the module's note)."""
    target = request.POST.get("_next", "")
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        return HttpResponseBadRequest("bad _next")
    return redirect_with_filters(request, target, request.POST)


def redirect_with_filters(request, target: str, posted: QueryDict):
    """To the list `target` with the posted filters in its query string (ID numbers as tokens), from page 1."""
    params = posted.copy()
    for name in ("csrfmiddlewaretoken", "_next", "page"):
        params.pop(name, None)
    params, _replaced = _tokenised(request, params)
    query = params.urlencode()
    return redirect(f"{target}?{query}" if query else target)


class IdNumberQueryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "GET" and not request.path.startswith("/api/") and request.GET:
            params, replaced = _tokenised(request, request.GET)
            if replaced:
                return redirect(f"{request.path}?{params.urlencode()}")
        return self.get_response(request)
