from __future__ import annotations

import time

from django.conf import settings
from django.http import HttpResponseBadRequest
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _


class LanguageMiddleware:
    """Simplified Chinese unless the user chose another language (the language cookie).

    Django's LocaleMiddleware would follow the browser's Accept-Language, so a clerk's English-language
    browser would show an English portal: the bureau's working language is Chinese, English is an option.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class IdleTimeoutMiddleware:
    """Sessions end after SESSION_COOKIE_AGE seconds without a request (the idle timeout).

    Django's SESSION_SAVE_EVERY_REQUEST would do it by writing the session on every page view; here the
    expiry is pushed back at most once a minute, so reading a page is not a database write.
    """

    TOUCH_EVERY = 60
    KEY = "_touched"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and not session.is_empty():
            now = int(time.time())
            if now - session.get(self.KEY, 0) >= self.TOUCH_EVERY:
                session[self.KEY] = now  # marks the session modified: saved with a fresh expiry
        return response


class NoStoreMiddleware:
    """Pages and API answers carry children's data: no browser or proxy keeps a copy (`no-store`).

    Static files never reach this (WhiteNoise answers them first) and keep their long cache lifetimes.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Cache-Control" not in response:
            patch_cache_control(response, private=True, no_store=True)
        return response


class NulByteMiddleware:
    """A NUL character in the address or its query string is refused with a 400 before any view runs.

    PostgreSQL text cannot hold one: a path segment or a filter value with %00 reached the database and
    answered 500 (the out-of-county letter's county code, the report's basis). No honest request carries
    one, so this one check covers every page, filter and API. Form and JSON bodies are the fields' job
    (Django's and DRF's text fields refuse NUL).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = request.GET.lists()
        if "\x00" in request.path or any("\x00" in key or "\x00" in "".join(values) for key, values in query):
            return HttpResponseBadRequest(
                _("The address contains a NUL character, which is not allowed."),
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)
