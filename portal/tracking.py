"""The change history every area keeps: who, when, what, for inserts, updates and deletes.

`@track_changes()` on a model is `pghistory.track` with the three events, built afresh for each model:
pghistory deep-copies trackers given in settings, and a copied tracker loses the identity of its trigger
operation, which statement-level triggers (PGHISTORY_LEVEL) depend on.
"""

from __future__ import annotations

import pghistory


def track_changes(**kwargs):
    return pghistory.track(
        pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), **kwargs
    )
