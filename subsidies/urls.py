from django.urls import path

from subsidies import views

app_name = "subsidies"

urlpatterns = [
    path("", views.index, name="index"),
    path("batches/new/", views.batch_generate, name="batch_generate"),
    path("batches/<int:pk>/", views.batch_detail, name="batch_detail"),
    path("batches/<int:pk>/draw/", views.batch_draw, name="batch_draw"),
    path("batches/<int:pk>/approve/", views.batch_approve, name="batch_approve"),
    path("batches/<int:pk>/paid/", views.batch_mark_paid, name="batch_mark_paid"),
    path("batches/<int:pk>/add/", views.batch_add_student, name="batch_add_student"),
    path(
        "batches/<int:pk>/remove/<int:student_pk>/", views.batch_remove_student, name="batch_remove_student"
    ),
    path("batches/<int:pk>/bank-file/", views.batch_bank_file, name="batch_bank_file"),
    path("batches/<int:pk>/bank-result/", views.batch_bank_result, name="batch_bank_result"),
    path("batches/<int:pk>/letters/", views.batch_letters, name="batch_letters"),
    path("payments/<int:pk>/release/", views.payment_release, name="payment_release"),
    path("payments/<int:pk>/repay/", views.payment_repay, name="payment_repay"),
    path("students/<int:pk>/", views.student_aid, name="student_aid"),
    path(
        "students/<int:pk>/letter/<int:school_year>/<str:term>/", views.student_letter, name="student_letter"
    ),
    path("policies/", views.policy_list, name="policy_list"),
    path("policies/new/", views.policy_edit, name="policy_create"),
    path("policies/<int:pk>/edit/", views.policy_edit, name="policy_edit"),
    path("quotas/", views.quota_list, name="quota_list"),
    path("matching/", views.match_list, name="match_list"),
    path("matching/<int:pk>/", views.match_detail, name="match_detail"),
    path("matching/<int:pk>/export/", views.match_export, name="match_export"),
    path("matching/<int:pk>/apply/", views.match_apply, name="match_apply"),
    path("out-of-county/", views.out_of_county, name="out_of_county"),
    path("out-of-county/<int:pk>/follow-up/", views.out_of_county_follow_up, name="out_of_county_follow_up"),
    path(
        "out-of-county/letter/<str:code>/<int:school_year>/",
        views.out_of_county_letter,
        name="out_of_county_letter",
    ),
    path("loans/", views.loan_list, name="loan_list"),
    path("lookup/", views.lookup, name="lookup"),
]
