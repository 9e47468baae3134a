"""Every write of these apps is a `portal.services.service` (issue 16, item 2): a public function of a
services module that takes the acting user (`by`) carries the decorator's capability, so that no write is
left with a bare transaction or a role test of its own."""

from __future__ import annotations

import importlib
import inspect

import pytest

SERVICE_MODULES = (
    "students.services",
    "students.rollover",
    "dropout_control.services.cases",
    "dropout_control.services.watch",
    "dropout_control.services.suspects",
    "dropout_control.services.pupils",
    "dropout_control.services.zero_reports",
    "dropout_control.matching",
    "nutrition.services",
    "nutrition.importing",
    "reports.services",
    "subsidies.services.batches",
    "subsidies.services.ledger",
    "subsidies.services.loans",
    "subsidies.services.past",
    "subsidies.services.policies",
    "subsidies.services.social",
    "subsidies.services.university",
    "subsidies.services.identification",
    "subsidies.bank",
    "subsidies.matching",
)
# The system's own jobs (no acting user): a service with no capability.
SYSTEM_SERVICES = {"students.services.import_files_purge", "reports.services.snapshot_request_nightly"}
# Public functions that take `by` and are not writes of their own.
NOT_SERVICES = {
    "nutrition.services.check_can_record",  # the row and term check inside the plan's services
    "subsidies.services.batches.record_event",  # writes a batch step inside the batch services
}


def writes_taking_by(module_name: str) -> list[tuple[str, object]]:
    module = importlib.import_module(module_name)
    found = []
    for name, function in vars(module).items():
        if name.startswith("_") or not inspect.isfunction(function) or function.__module__ != module_name:
            continue
        if "by" in inspect.signature(function).parameters:
            found.append((f"{module_name}.{name}", function))
    return found


@pytest.mark.parametrize("module_name", SERVICE_MODULES)
def test_every_write_taking_the_acting_user_is_a_service(module_name):
    writes = writes_taking_by(module_name)
    assert writes, f"{module_name} has no writes: remove it from the list"
    bare = [
        name for name, function in writes if name not in NOT_SERVICES and not hasattr(function, "allowed")
    ]
    assert bare == [], f"not decorated with portal.services.service: {bare}"
    # Each names the capability it needs, even where the row check alone would refuse (issue 16, item 2).
    unchecked = [
        name
        for name, function in writes
        if name not in NOT_SERVICES | SYSTEM_SERVICES and getattr(function, "allowed", None) is None
    ]
    assert unchecked == [], f"a service without a capability (allowed=...): {unchecked}"
