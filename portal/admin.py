from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.utils.translation import gettext_lazy as _

from portal.access import scope_of
from portal.audit import log_access
from portal.models import AccessLog, User


class ScopedAdmin(admin.ModelAdmin):
    """Admin pages see what the same user sees everywhere else: the rows of visible_to(user)."""

    def get_queryset(self, request):
        return self.model.objects.visible_to(request.user)

    def has_change_permission(self, request, obj=None):
        return scope_of(request.user).writable and super().has_change_permission(request, obj)

    def has_add_permission(self, request):
        return scope_of(request.user).writable and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return scope_of(request.user).writable and super().has_delete_permission(request, obj)


class AdminSetPasswordForm(AdminPasswordChangeForm):
    """A password an administrator sets is a temporary one: the user must choose their own at next log-in."""

    def save(self, commit=True):
        self.user.must_change_password = True
        return super().save(commit=commit)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "first_name", "role", "township", "school", "is_active", "last_login")
    list_filter = ("role", "is_active", "township")
    list_select_related = ("township", "school")
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("Role and unit"), {"fields": ("role", "township", "school", "phone", "must_change_password")}),
    )
    change_password_form = AdminSetPasswordForm
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        (_("Role and unit"), {"fields": ("role", "township", "school")}),
    )
    actions = ["make_enrolment_links"]

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = User.objects.get(pk=id)
            log_access(request, AccessLog.Action.PASSWORD_CHANGED, user, detail="set by an administrator")
        return response

    @admin.action(description=_("Make an authenticator enrolment link"))
    def make_enrolment_links(self, request, queryset):
        """A one-time link per user for a first (or lost) authenticator: hand it over in person or by phone."""
        from portal.security import enrolment_link_make

        for user in queryset:
            path = enrolment_link_make(user=user, by=request.user, request=request)
            messages.info(
                request,
                _("Enrolment link for %(user)s (one use, %(hours)s hours): %(url)s")
                % {
                    "user": user.get_username(),
                    "hours": settings.OTP_ENROLMENT_LINK_HOURS,
                    "url": request.build_absolute_uri(path),
                },
            )
