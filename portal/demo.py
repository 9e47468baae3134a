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
            # Demo accounts keep the printed password; real accounts must change theirs at first log-in.
            "must_change_password": False,
        }
        user, created = User.objects.update_or_create(username=username, defaults=fields)
        if created:
            user.set_password(demo_password())
            user.save(update_fields=["password"])
        if user.needs_second_factor:
            _demo_authenticator(user)
        users.append(user)
    return users


# A fixed, published key: the demo's bureau and official accounts need a second factor like real ones, and
# `manage.py demo_otp` prints the current code so that nobody needs a phone to try the portal.
DEMO_TOTP_KEY = "3132333435363738393031323334353637383930"


def _demo_authenticator(user: User) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.update_or_create(
        user=user, name="authenticator", defaults={"key": DEMO_TOTP_KEY, "confirmed": True}
    )


def current_code(user: User) -> str:
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user=user, name="authenticator")
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
