from portal.routers import Router
from subsidies import api, api_past

router = Router()
router.register("policies", api.PolicyViewSet, basename="aid-policy")
router.register("exclusion-groups", api.ExclusionGroupViewSet, basename="aid-exclusion-group")
router.register("quotas", api.QuotaViewSet, basename="aid-quota")
router.register("batches", api.BatchViewSet, basename="aid-batch")
router.register("payments", api.PaymentViewSet, basename="aid-payment")
router.register("bank-accounts", api.BankAccountViewSet, basename="aid-bank-account")
router.register("bank-result-formats", api.BankResultFormatViewSet, basename="aid-bank-result-format")
router.register("matching-runs", api.MatchRunViewSet, basename="aid-matching-run")
router.register("out-of-county", api.OutOfCountyViewSet, basename="aid-out-of-county")
router.register("loans", api.LoanViewSet, basename="aid-loan")
router.register("past-payment-imports", api_past.PastPaymentImportViewSet, basename="aid-past-payment-import")

urlpatterns = router.urls
