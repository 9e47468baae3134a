from django.urls import path

from nutrition import views

app_name = "nutrition"

urlpatterns = [
    path("", views.index, name="index"),
    path("pilots/<int:pk>/", views.pilot_detail, name="pilot_detail"),
    path("pilots/<int:pk>/meals/", views.meal_add, name="meal_add"),
    path("pilots/<int:pk>/accompanied/", views.accompanied_add, name="accompanied_add"),
    path("pilots/<int:pk>/purchases/", views.purchase_add, name="purchase_add"),
    path("pilots/<int:pk>/receipts/", views.receipt_add, name="receipt_add"),
    path("pilots/<int:pk>/checks/", views.check_add, name="check_add"),
    path("meals/import/", views.meals_import, name="meals_import"),
    path("meals/import/<int:pk>/", views.meal_import_detail, name="meal_import_detail"),
    path("terms/", views.terms, name="terms"),
    path("terms/<int:pk>/", views.term_detail, name="term_detail"),
]
