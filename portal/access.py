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
from django.utils.translation import gettext_lazy as _
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
    # A lookup that, when empty, makes the row belong to the parent everyone in scope already sees (a batch's
    # own steps have no student; a student's step is the student's, and scoped like the student).
    scope_shared_when_null: str | None = None
    # A capability (a function of this module, as `staticmethod(...)`) without which a user sees no row at all,
    # whatever the scope: data matching runs are the bureau's work (`can_run_data_matching`).
    scope_requires = None

    def visible_to(self, user):
        if self.scope_requires is not None and not self.scope_requires(user):
            return self.none()
        return self._for_scope(scope_of(user))

    def editable_by(self, user):
        scope = scope_of(user)
        if not scope.writable:
            return self.none()
        if self.scope_requires is not None and not self.scope_requires(user):
            return self.none()
        if self.scope_county_wide and not scope.county:
            return self.none()
        return self._for_scope(scope)

    def _for_scope(self, scope: Scope):
        if scope.county or (self.scope_county_wide and scope != NO_SCOPE):
            return self.all()
        shared = (
            Q(**{f"{self.scope_shared_when_null}__isnull": True}) if self.scope_shared_when_null else None
        )
        if scope.township_id is not None and self.scope_townships:
            condition = Q()
            for lookup in self.scope_townships:
                condition |= Q(**{lookup: scope.township_id})
            return self.filter(condition | shared if shared is not None else condition)
        if scope.school_id is not None and self.scope_school:
            condition = Q(**{self.scope_school: scope.school_id})
            return self.filter(condition | shared if shared is not None else condition)
        return self.none()


# --- Capabilities: what a role may do beyond reading and writing its scope --------------------------------
# Every "may this user ..." question is answered here, from the scope, so that no view, service, form or task
# tests a role by name.


def is_bureau_staff(user) -> bool:
    """Bureau staff (and administrators): write for the whole county."""
    scope = scope_of(user)
    return scope.county and scope.writable


def is_township_officer(user) -> bool:
    """Works for one township (not the county, not one school)."""
    return scope_of(user).township_id is not None


def is_principal(user) -> bool:
    """Works for one school."""
    return scope_of(user).school_id is not None


def can_write_in_scope(user) -> bool:
    """Every role but the officials writes, inside its scope (which rows, the service then asks the row)."""
    return scope_of(user).writable


def can_import_students(user) -> bool:
    """Bureau staff import for the county, principals for their own school."""
    scope = scope_of(user)
    return scope.writable and (scope.county or scope.school_id is not None)


def can_keep_out_of_county_ledger(user) -> bool:
    """Bureau staff for the county, township officers for the children of their township."""
    scope = scope_of(user)
    return scope.writable and (scope.county or scope.township_id is not None)


def can_record_nutrition(user) -> bool:
    """The nutrition office for the county, principals for their own pilot school."""
    scope = scope_of(user)
    return scope.writable and (scope.county or scope.school_id is not None)


def can_roll_over(user) -> bool:
    """Opening a school year (the autumn roll-over, 升级/毕业) and undoing it: the bureau's work for the county."""
    scope = scope_of(user)
    return scope.county and scope.writable


def can_confirm_school_list(user) -> bool:
    """A principal confirms the school's list after the roll-over; the bureau reads who has confirmed."""
    scope = scope_of(user)
    return scope.writable and scope.school_id is not None


def can_run_data_matching(user) -> bool:
    """Matching other departments' lists against the county's children: the bureau's work, pages and API."""
    scope = scope_of(user)
    return scope.county and scope.writable


def can_confirm_case_closing(user) -> bool:
    """销号 of a dropout case: the township or the school asks with the proof, the bureau confirms."""
    scope = scope_of(user)
    return scope.county and scope.writable


def can_file_zero_report(user) -> bool:
    """The monthly zero report (零报告) of dropout control: a school for itself, a township officer for the
    township; the bureau reads who has not reported."""
    scope = scope_of(user)
    return scope.writable and not scope.county


def can_run_identification(user) -> bool:
    """Needy-student identification (家庭经济困难学生认定): a principal runs their school's (the application, the
    class review, the 公示, objections, the school's level); bureau staff may do it for any school. Township
    officers read their township's."""
    scope = scope_of(user)
    return scope.writable and (scope.county or scope.school_id is not None)


def can_confirm_identification(user) -> bool:
    """The county's review and confirmation of the schools' levels, and the 公示 period it sets: the bureau's."""
    scope = scope_of(user)
    return scope.county and scope.writable


def can_read_access_log(user) -> bool:
    """Bureau administrators: bureau staff with the staff flag (they also reach the admin site)."""
    return (
        user.is_authenticated and user.is_active and (user.is_superuser or (user.is_bureau and user.is_staff))
    )


def can_reveal_personal(user, obj=None) -> bool:
    """The reveal right: the whole ID number, the full birth date and the household county of a child.

    Held by the roles that work on the record, i.e. with a writable scope over it: bureau staff, a township
    officer for his township's records, a principal for his school's. Read-only officials never hold it:
    the masked number plus birth date plus household county is the whole number, so what they read must
    not carry those (birth year only). Without `obj`: whether the user holds it for any record (a page or
    endpoint that then works on rows from `editable_by`). Every whole-number display is also logged.
    """
    scope = scope_of(user)
    if not scope.writable:
        return False
    if obj is None:
        return True
    return type(obj).objects.editable_by(user).filter(pk=obj.pk).exists()


class RolePermission(BasePermission):
    """API default: signed in with a scope; officials read only; a view may narrow writes to a capability.

    Row-level access is not decided here but by the view's queryset (visible_to/editable_by), so that a
    record outside the user's scope is a 404, never data.
    """

    # A refusal says what the user may do instead (DRF answers `message` with the 403).
    READ_ONLY = _(
        "Your account reads records but does not change them: ask bureau staff to make this change."
    )
    NOT_YOURS = _("Your role does not make this change: ask bureau staff to make it.")

    def has_permission(self, request, view) -> bool:
        scope = scope_of(request.user)
        if scope == NO_SCOPE:
            return False
        if request.method in SAFE_METHODS:
            return True
        if not scope.writable:
            self.message = self.READ_ONLY
            return False
        # `write_allowed` on a view: a capability of this module (e.g. `staticmethod(is_bureau_staff)`).
        write_allowed = getattr(view, "write_allowed", None)
        if write_allowed is None or write_allowed(request.user):
            return True
        self.message = self.NOT_YOURS
        return False
