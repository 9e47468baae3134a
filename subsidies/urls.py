from django.urls import path

from subsidies.views import (
    bank_layouts,
    batches,
    identification,
    ledger,
    letters,
    loans,
    lookup,
    matching,
    national,
    past,
    policies,
    university,
)

app_name = "subsidies"

urlpatterns = [
    path("", batches.index, name="index"),
    path("batches/new/", batches.batch_generate, name="batch_generate"),
    path("batches/<int:pk>/", batches.batch_detail, name="batch_detail"),
    path("batches/<int:pk>/draw/", batches.batch_draw, name="batch_draw"),
    path("batches/<int:pk>/approve/", batches.batch_approve, name="batch_approve"),
    path("batches/<int:pk>/paid/", batches.batch_mark_paid, name="batch_mark_paid"),
    path("batches/<int:pk>/add/", batches.batch_add_student, name="batch_add_student"),
    path(
        "batches/<int:pk>/remove/<int:student_pk>/", batches.batch_remove_student, name="batch_remove_student"
    ),
    path("batches/<int:pk>/bank-file/", batches.batch_bank_file, name="batch_bank_file"),
    path("bank-layouts/", bank_layouts.layout_list, name="bank_layout_list"),
    path("bank-layouts/new/", bank_layouts.layout_edit, name="bank_layout_create"),
    path("bank-layouts/<int:pk>/edit/", bank_layouts.layout_edit, name="bank_layout_edit"),
    path("batches/<int:pk>/bank-result/", batches.batch_bank_result, name="batch_bank_result"),
    path("batches/<int:pk>/letters/", letters.batch_letters, name="batch_letters"),
    path("payments/<int:pk>/release/", batches.payment_release, name="payment_release"),
    path("payments/<int:pk>/repay/", batches.payment_repay, name="payment_repay"),
    path("payments/<int:pk>/paid/", batches.payment_mark_paid, name="payment_mark_paid"),
    path("payments/<int:pk>/withdraw/", batches.payment_withdraw, name="payment_withdraw"),
    path("students/<int:pk>/", letters.student_aid, name="student_aid"),
    path(
        "students/<int:pk>/letter/<int:school_year>/<str:term>/",
        letters.student_letter,
        name="student_letter",
    ),
    path("policies/", policies.policy_list, name="policy_list"),
    path("policies/new/", policies.policy_edit, name="policy_create"),
    path("policies/<int:pk>/edit/", policies.policy_edit, name="policy_edit"),
    path("quotas/", policies.quota_list, name="quota_list"),
    path("matching/", matching.match_list, name="match_list"),
    path("matching/<int:pk>/", matching.match_detail, name="match_detail"),
    path("matching/<int:pk>/export/", matching.match_export, name="match_export"),
    path("matching/<int:pk>/apply/", matching.match_apply, name="match_apply"),
    path("out-of-county/", ledger.out_of_county, name="out_of_county"),
    path("out-of-county/<int:pk>/follow-up/", ledger.out_of_county_follow_up, name="out_of_county_follow_up"),
    path(
        "out-of-county/letter/<str:code>/<int:school_year>/",
        ledger.out_of_county_letter,
        name="out_of_county_letter",
    ),
    path("past-payments/", past.past_payments_page, name="past_payments"),
    path("national-aid/", national.national_aid_page, name="national_aid"),
    path("past-payments/template/", past.past_payments_template, name="past_payments_template"),
    path("loans/", loans.loan_list, name="loan_list"),
    path("university-students/", university.university_students, name="university_students"),
    path("social-aid/", university.social_aid, name="social_aid"),
    path("lookup/", lookup.lookup, name="lookup"),
    path("identifications/", identification.identification_list, name="identification_list"),
    path("identifications/<int:pk>/", identification.identification_detail, name="identification_detail"),
    path(
        "identifications/publicity/", identification.identification_publicity, name="identification_publicity"
    ),
    path("identifications/identified/", identification.identified_list, name="identified_list"),
]
