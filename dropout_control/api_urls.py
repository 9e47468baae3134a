from dropout_control import api
from portal.routers import Router

router = Router()
router.register("cases", api.CaseViewSet, basename="dropout-case")
router.register("closing-requests", api.ClosingRequestViewSet, basename="dropout-closing-request")
router.register("zero-reports", api.ZeroReportViewSet, basename="dropout-zero-report")
router.register("suspects", api.SuspectViewSet, basename="dropout-suspect")
router.register("uploads", api.UploadViewSet, basename="dropout-upload")
router.register("ledger", api.LedgerViewSet, basename="dropout-ledger")
router.register("dashboard", api.DashboardViewSet, basename="dropout-dashboard")
router.register("long-absences", api.LongAbsenceViewSet, basename="dropout-long-absence")
router.register("care-records", api.CareRecordViewSet, basename="dropout-care-record")
router.register("care-roster", api.CareRosterViewSet, basename="dropout-care-roster")

urlpatterns = router.urls
