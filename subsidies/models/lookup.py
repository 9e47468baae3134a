"""The public lookup log (who asked the public aid lookup, masked)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class LookupLog(models.Model):
    """Every public lookup by ID number: who asked (client address), for what, and what came of it."""

    class Outcome(models.TextChoices):
        SHOWN = "shown", _("Aid shown")
        NO_MATCH = "no_match", _("ID number and name do not match")
        LIMITED = "limited", _("Too many lookups")
        INVALID = "invalid", _("Invalid input")

    at = models.DateTimeField(auto_now_add=True)
    client = models.CharField(max_length=64)
    id_number_masked = models.CharField(max_length=18, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)

    class Meta:
        verbose_name = _("lookup log entry")
        verbose_name_plural = _("lookup log")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.client} {self.outcome}"
