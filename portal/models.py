from __future__ import annotations

import pgtrigger
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A portal account. Its role and, for township officers and principals, its unit decide what it sees."""

    class Role(models.TextChoices):
        BUREAU = "bureau", _("Bureau staff")
        TOWNSHIP = "township", _("Township officer")
        PRINCIPAL = "principal", _("School principal")
        OFFICIAL = "official", _("Official (read-only)")

    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.OFFICIAL)
    township = models.ForeignKey(
        "students.Township",
        verbose_name=_("township"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="officers",
    )
    school = models.ForeignKey(
        "students.School",
        verbose_name=_("school"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="principals",
    )
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    password_changed_at = models.DateTimeField(
        _("password changed"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("API tokens issued before this moment no longer work."),
    )
    must_change_password = models.BooleanField(
        _("must change password"),
        default=True,
        help_text=_(
            "Set for a new account or a reset password: the user must choose a new one at next log-in."
        ),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                name="township_officer_has_township",
                condition=~models.Q(role="township") | models.Q(township__isnull=False),
            ),
            models.CheckConstraint(
                name="principal_has_school",
                condition=~models.Q(role="principal") | models.Q(school__isnull=False),
            ),
        ]

    def clean(self) -> None:
        super().clean()
        if self.role == self.Role.TOWNSHIP and not self.township_id:
            raise ValidationError({"township": _("A township officer must belong to a township.")})
        if self.role == self.Role.PRINCIPAL and not self.school_id:
            raise ValidationError({"school": _("A principal must belong to a school.")})

    def set_password(self, raw_password) -> None:
        # Every way of changing a password (the form, a reset, the admin, `changepassword`) comes through here
        # and then saves the user: the stamp ends the API tokens issued before it (portal.tokens).
        super().set_password(raw_password)
        self.password_changed_at = timezone.now()

    @property
    def is_bureau(self) -> bool:
        return self.is_superuser or self.role == self.Role.BUREAU

    @property
    def needs_second_factor(self) -> bool:
        """Bureau staff and officials see the whole county: a password alone is not enough."""
        from django.conf import settings

        return self.is_superuser or self.role in settings.OTP_REQUIRED_ROLES

    @property
    def can_write(self) -> bool:
        """Officials read and download; every other role writes inside its scope."""
        return self.is_superuser or self.role != self.Role.OFFICIAL


class AccessLogQuerySet(models.QuerySet):
    def about(self, obj) -> models.QuerySet:
        return self.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))


class AccessLog(models.Model):
    """Who saw or took what, separate from the change history: logins, full-value reveals, exports, imports.

    Rows are never changed, and not deleted before the retention period (a database trigger refuses it).
    """

    class Action(models.TextChoices):
        LOGIN = "login", _("Logged in")
        LOGIN_PASSWORD = "login_password", _("Password accepted, second factor pending")
        OTP_VERIFIED = "otp_verified", _("Gave the second factor")
        OTP_FAILED = "otp_failed", _("Wrong second-factor code")
        OTP_ENROLLED = "otp_enrolled", _("Enrolled an authenticator")
        OTP_LINK = "otp_link", _("Made an authenticator enrolment link")
        OTP_RECOVERY = "otp_recovery", _("Made new recovery codes")
        API_TOKEN = "api_token", _("Obtained an API token")
        API_READ = "api_read", _("Read through the API")
        PASSWORD_CHANGED = "password_changed", _("Changed a password")
        LOGIN_FAILED = "login_failed", _("Failed log-in")
        LOGOUT = "logout", _("Logged out")
        VIEW_RECORD = "view_record", _("Opened a record")
        REVEAL_ID = "reveal_id", _("Revealed a full ID number")
        REVEAL_BANK = "reveal_bank", _("Revealed a bank account")
        EXPORT = "export", _("Exported a file")
        DOWNLOAD = "download", _("Downloaded a file")
        IMPORT = "import", _("Imported a file")
        LOOKUP = "lookup", _("Public lookup")
        DENIED = "denied", _("Refused access")

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        "portal.User",
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    username = models.CharField(_("user name"), max_length=150, blank=True)
    ip = models.GenericIPAddressField(_("address"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    object_type = models.CharField(_("record type"), max_length=64, blank=True)
    object_id = models.CharField(_("record id"), max_length=64, blank=True)
    detail = models.CharField(_("detail"), max_length=300, blank=True)

    objects = AccessLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        ordering = ["-at", "-pk"]
        indexes = [
            # "Who looked at this child's record?"
            models.Index(fields=["object_type", "object_id", "at"], name="accesslog_object_idx"),
            # One user's activity.
            models.Index(fields=["user", "at"], name="accesslog_user_idx"),
        ]
        triggers = [
            pgtrigger.Protect(name="access_log_append_only", operation=pgtrigger.Update),
            pgtrigger.Protect(
                name="access_log_kept_180_days",
                operation=pgtrigger.Delete,
                condition=pgtrigger.Condition("OLD.at > NOW() - INTERVAL '180 days'"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.object_type}:{self.object_id}"
