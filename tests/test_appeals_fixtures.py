"""Shared fixtures and builders of the appeals tests (imported by the test_appeals_* modules)."""

from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tuanju.accounts.models import Role, User
from tuanju.appeals import actions
from tuanju.appeals.models import AppealCategory, Department, DepartmentKind, Source, Station, StationKind

PASSWORD = "Str0ng-Passw0rd!"


@pytest.fixture(autouse=True)
def _appeals_fresh_cache():
    """Rate-limit counters live in the cache, which outlives a test: start each test from zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def appeals_huey():
    from huey.contrib.djhuey import HUEY

    before = HUEY.immediate
    HUEY.immediate = True
    yield HUEY
    HUEY.immediate = before


def category(name: str = "就业创业") -> AppealCategory:
    return AppealCategory.objects.get(name=name)


def department_user(username: str, department: Department, role: str = Role.CADRE, email: str = "") -> User:
    user = User(username=username, role=role, department=department, unit=None, email=email)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def appeal_depts(world, staff):
    """Partner departments: 人社 and 司法 of Yiwu, 人社 of Dongyang, each with a handler account."""
    yiwu_hr = Department.objects.create(
        unit=world["330782"], name="义乌市人力资源和社会保障局", kind=DepartmentKind.HR
    )
    yiwu_justice = Department.objects.create(
        unit=world["330782"], name="义乌市司法局", kind=DepartmentKind.JUSTICE
    )
    dong_hr = Department.objects.create(
        unit=world["330783"], name="东阳市人力资源和社会保障局", kind=DepartmentKind.HR
    )
    return {
        "yiwu_hr": yiwu_hr,
        "yiwu_justice": yiwu_justice,
        "dong_hr": dong_hr,
        "hr_user": department_user("hr_handler", yiwu_hr, email="hr@yiwu.example.cn"),
        "hr_viewer": department_user("hr_viewer", yiwu_hr, role=Role.VIEWER),
        "justice_user": department_user("justice_handler", yiwu_justice, email="sf@yiwu.example.cn"),
        "dong_hr_user": department_user("dong_hr_handler", dong_hr),
    }


def make_appeal(
    unit, *, actor=None, name="就业创业", content="外卖骑手被平台拖欠三个月工资，希望帮助维权", **kwargs
):
    new = actions.NewAppeal(
        unit=unit,
        category=category(name),
        content=content,
        source=kwargs.pop("source", Source.STAFF),
        contact_name=kwargs.pop("contact_name", "张伟"),
        phone=kwargs.pop("phone", "13800001111"),
        **kwargs,
    )
    return actions.file_appeal(new, actor=actor)


def make_station(unit, *, name="稠城暖心驿站", kind=StationKind.WARM, actor=None) -> Station:
    from tuanju.appeals.models import ServiceType

    return actions.save_station(
        Station(),
        data={
            "unit": unit,
            "name": name,
            "kind": kind,
            "address": "义乌市稠城街道县前街1号",
            "opening_hours": "9:00-21:00",
        },
        services=list(ServiceType.objects.filter(name__in=["休息饮水", "手机充电", "义诊"])),
        actor=actor,
    )


def jpeg_upload(name: str = "photo.jpg", size=(640, 480), *, exif_gps: bool = False) -> SimpleUploadedFile:
    image = Image.new("RGB", size, (200, 30, 30))
    buffer = io.BytesIO()
    if exif_gps:
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"  # Make
        exif[0x8825] = {1: "N", 2: (29.0, 18.0, 0.0)}  # GPSInfo
        image.save(buffer, format="JPEG", exif=exif)
    else:
        image.save(buffer, format="JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


@pytest.fixture
def staff_client(db):
    """``staff_client(user)`` → a new logged-in test client (one per user, unlike the shared ``client_for``)."""
    from django.test import Client

    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make
