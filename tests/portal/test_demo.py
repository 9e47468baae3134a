import random

from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from portal import demo
from portal.models import User
from students.models import School, Student


def test_seed_demo_is_idempotent_and_covers_every_school_type(db, capsys):
    call_command("seed_demo", students=400)
    call_command("seed_demo", students=400)
    assert Student.objects.count() == 400
    assert set(School.objects.values_list("school_type", flat=True)) == set(School.Type.values)
    assert set(User.objects.values_list("username", flat=True)) >= {
        "bureau",
        "township",
        "principal",
        "official",
    }
    assert "portal-demo-2026" in capsys.readouterr().out


def test_demo_bureau_logs_in_with_the_printed_code(db, settings):
    from students import demo as registry

    registry.build_registry(rng=random.Random(1))
    demo.build_users()
    bureau = User.objects.get(username="bureau")
    client = Client()
    client.post(reverse("login"), {"username": "bureau", "password": demo.demo_password()})
    client.post(reverse("otp_verify"), {"token": demo.current_code(bureau)})
    assert client.get(reverse("students:student_list")).status_code == 200
