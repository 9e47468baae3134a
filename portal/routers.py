from rest_framework.routers import DefaultRouter


class Router(DefaultRouter):
    """The project's API router: object ids in URLs are whole numbers.

    DRF's default accepts any text there, so that `/api/x/abc/` reached views that look the id up
    themselves and failed with a server error instead of a 404 (found by the schemathesis run). A viewset
    with another kind of key sets its own `lookup_value_regex`.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._default_value_pattern = "[0-9]+"
