from portal.routers import Router
from students import api

router = Router()
router.register("townships", api.TownshipViewSet, basename="township")
router.register("schools", api.SchoolViewSet, basename="school")
# Before "students": its own paths, not a student's.
router.register("students/rollover", api.RolloverViewSet, basename="rollover")
router.register("students", api.StudentViewSet, basename="student")
router.register("imports", api.ImportJobViewSet, basename="import")
router.register("roll-missing", api.MissingFromRollViewSet, basename="roll-missing")

urlpatterns = router.urls
