"""Demo logins, one per role."""

from __future__ import annotations

from django.conf import settings

from portal.models import User
from students.models import School, Township

DEMO_USERS = [
    ("bureau", User.Role.BUREAU, "资助中心 王主任"),
    ("township", User.Role.TOWNSHIP, "梅江镇 李干事"),
    ("principal", User.Role.PRINCIPAL, "梅江中心小学 张校长"),
    ("official", User.Role.OFFICIAL, "县政府 刘领导"),
]


def demo_password() -> str:
    return getattr(settings, "DEMO_PASSWORD", "portal-demo-2026")


def build_users() -> list[User]:
    township = Township.objects.order_by("code").first()
    school = (
        School.objects.filter(township=township, school_type=School.Type.PRIMARY).order_by("code").first()
    )
    users = []
    for username, role, full_name in DEMO_USERS:
        fields = {
            "role": role,
            "first_name": full_name,
            "township": township if role == User.Role.TOWNSHIP else None,
            "school": school if role == User.Role.PRINCIPAL else None,
            "is_staff": role == User.Role.BUREAU,
        }
        user, created = User.objects.update_or_create(username=username, defaults=fields)
        if created:
            user.set_password(demo_password())
            user.save(update_fields=["password"])
        users.append(user)
    return users
