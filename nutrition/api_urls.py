from nutrition import api
from portal.routers import Router

router = Router()
router.register("terms", api.TermViewSet, basename="nutrition-term")
router.register("holidays", api.HolidayViewSet, basename="nutrition-holiday")
router.register("pilots", api.PilotViewSet, basename="nutrition-pilot")
router.register("meals", api.MealViewSet, basename="nutrition-meal")
router.register("receipts", api.ReceiptViewSet, basename="nutrition-receipt")
router.register("purchases", api.PurchaseViewSet, basename="nutrition-purchase")
router.register("accompanied-meals", api.AccompaniedViewSet, basename="nutrition-accompanied")
router.register("safety-checks", api.SafetyCheckViewSet, basename="nutrition-safety-check")
router.register("figures", api.FiguresViewSet, basename="nutrition-figures")
router.register("meal-imports", api.MealImportViewSet, basename="nutrition-meal-import")

urlpatterns = router.urls
