"""Past payments: the files of the national aid system (全国学生资助管理信息系统) a county imports for the terms
before it used the portal, so that its earlier years' reports are built from records (issue 13)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.access import ScopedQuerySet, is_bureau_staff
from subsidies.models.common import MONEY


class PastPaymentImportQuerySet(ScopedQuerySet):
    # County-wide files of the aid centre: bureau staff only, as the page and the API.
    scope_requires = staticmethod(is_bureau_staff)


class PastPaymentImport(models.Model):
    """One file of past payments, imported whole: the file as it came, who imported it, what it held.
    Its payments are in imported batches (`DisbursementBatch.Kind.IMPORTED`), one per aid and term."""

    file = models.FileField(_("file"), upload_to="past_payments/%Y/%m/")
    filename = models.CharField(_("file name"), max_length=200)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    rows = models.PositiveIntegerField(_("payments"))
    amount = models.DecimalField(_("amount"), **MONEY)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    imported_at = models.DateTimeField(_("imported at"), auto_now_add=True)

    objects = PastPaymentImportQuerySet.as_manager()

    class Meta:
        verbose_name = _("past payments import")
        verbose_name_plural = _("past payments imports")
        ordering = ["-imported_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.imported_at:%Y-%m-%d})"
