from portal.routers import Router
from reports import api

router = Router()
router.register("snapshots", api.SnapshotViewSet, basename="reports-snapshot")
router.register("populations", api.PopulationViewSet, basename="reports-population")

urlpatterns = router.urls
