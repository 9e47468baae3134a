from portal.routers import Router
from subsidies import api, api_identification, api_national, api_past, api_university

router = Router()
router.register("policies", api.PolicyViewSet, basename="aid-policy")
router.register("exclusion-groups", api.ExclusionGroupViewSet, basename="aid-exclusion-group")
router.register("quotas", api.QuotaViewSet, basename="aid-quota")
router.register("batches", api.BatchViewSet, basename="aid-batch")
router.register("payments", api.PaymentViewSet, basename="aid-payment")
router.register("bank-accounts", api.BankAccountViewSet, basename="aid-bank-account")
router.register("bank-result-formats", api.BankResultFormatViewSet, basename="aid-bank-result-format")
router.register("bank-payroll-layouts", api.BankPayrollLayoutViewSet, basename="aid-bank-payroll-layout")
router.register("matching-runs", api.MatchRunViewSet, basename="aid-matching-run")
router.register("out-of-county", api.OutOfCountyViewSet, basename="aid-out-of-county")
router.register("loans", api.LoanViewSet, basename="aid-loan")
router.register("national-aid", api_national.NationalAidViewSet, basename="aid-national")
router.register("past-payment-imports", api_past.PastPaymentImportViewSet, basename="aid-past-payment-import")
router.register(
    "university-students", api_university.UniversityStudentViewSet, basename="aid-university-student"
)
router.register("university-aid", api_university.UniversityAidViewSet, basename="aid-university-aid")
router.register(
    "social-aid-programmes", api_university.SocialProgrammeViewSet, basename="aid-social-programme"
)
router.register("social-aid-grants", api_university.SocialGrantViewSet, basename="aid-social-grant")

router.register("identifications", api_identification.IdentificationViewSet, basename="aid-identification")
router.register(
    "identification-rounds",
    api_identification.IdentificationRoundViewSet,
    basename="aid-identification-round",
)

urlpatterns = router.urls
