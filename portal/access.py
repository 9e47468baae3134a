"""The one access-scoping mechanism.

Every queryset a user can reach (HTML views, API, exports, admin, dashboards) goes through
`Model.objects.visible_to(user)` or `.editable_by(user)`. A model says once, on its queryset class, how its
rows reach a school and a township; the role logic lives only here.

- bureau staff and officials: the whole county (officials read only);
- township officer: rows whose school is in their township, or whose child lives there;
- principal: rows of their own school;
- anyone else (inactive, anonymous, a misconfigured account): nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.db.models import Q
from rest_framework.permissions import SAFE_METHODS, BasePermission


@dataclass(frozen=True)
class Scope:
    county: bool = False
    township_id: int | None = None
    school_id: int | None = None
    writable: bool = False


NO_SCOPE = Scope()


def scope_of(user) -> Scope:
    if user is None or not user.is_authenticated or not user.is_active:
        return NO_SCOPE
    from portal.models import User

    if user.is_superuser or user.role == User.Role.BUREAU:
        return Scope(county=True, writable=True)
    if user.role == User.Role.OFFICIAL:
        return Scope(county=True, writable=False)
    if user.role == User.Role.TOWNSHIP and user.township_id:
        return Scope(township_id=user.township_id, writable=True)
    if user.role == User.Role.PRINCIPAL and user.school_id:
        return Scope(school_id=user.school_id, writable=True)
    return NO_SCOPE


class ScopedQuerySet(models.QuerySet):
    """Subclasses name the lookups from their model to a School pk and to Township pks.

    `scope_school`: lookup whose value is the row's school id (None: principals see no rows).
    `scope_townships`: lookups whose value is a township id; a row is the township's if any matches
    (the school's township, or the township the child lives in).
    `scope_county_wide`: reference data every signed-in user may read (policy tables, county list).
    """

    scope_school: str | None = None
    scope_townships: tuple[str, ...] = ()
    scope_county_wide: bool = False

    def visible_to(self, user):
        return self._for_scope(scope_of(user))

    def editable_by(self, user):
        scope = scope_of(user)
        if not scope.writable:
            return self.none()
        if self.scope_county_wide and not scope.county:
            return self.none()
        return self._for_scope(scope)

    def _for_scope(self, scope: Scope):
        if scope.county or (self.scope_county_wide and scope != NO_SCOPE):
            return self.all()
        if scope.township_id is not None and self.scope_townships:
            condition = Q()
            for lookup in self.scope_townships:
                condition |= Q(**{lookup: scope.township_id})
            return self.filter(condition)
        if scope.school_id is not None and self.scope_school:
            return self.filter(**{self.scope_school: scope.school_id})
        return self.none()


class RolePermission(BasePermission):
    """API default: signed in with a scope; officials read only; a view may narrow writes to some roles.

    Row-level access is not decided here but by the view's queryset (visible_to/editable_by), so that a
    record outside the user's scope is a 404, never data.
    """

    def has_permission(self, request, view) -> bool:
        scope = scope_of(request.user)
        if scope == NO_SCOPE:
            return False
        if request.method in SAFE_METHODS:
            return True
        if not scope.writable:
            return False
        write_roles = getattr(view, "write_roles", None)
        return write_roles is None or request.user.is_superuser or request.user.role in write_roles
