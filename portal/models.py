from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
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

    @property
    def is_bureau(self) -> bool:
        return self.is_superuser or self.role == self.Role.BUREAU

    @property
    def can_write(self) -> bool:
        """Officials read and download; every other role writes inside its scope."""
        return self.is_superuser or self.role != self.Role.OFFICIAL
