from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from portal.access import scope_of
from portal.models import User


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


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "first_name", "role", "township", "school", "is_active", "last_login")
    list_filter = ("role", "is_active", "township")
    list_select_related = ("township", "school")
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("Role and unit"), {"fields": ("role", "township", "school", "phone")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        (_("Role and unit"), {"fields": ("role", "township", "school")}),
    )
