"""Staff pages of appeals and stations, the API, and scope everywhere (Dongyang sees nothing of Yiwu)."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from python_calamine import CalamineWorkbook
from test_appeals_fixtures import category, jpeg_upload, make_appeal, make_station
from test_appeals_import import write_xlsx

from tuanju.appeals import actions
from tuanju.appeals.models import Appeal, CalendarDay, Department, ServiceRecord, Station, Status
from tuanju.audit.models import AuditEvent

pytest_plugins = ["test_appeals_fixtures"]


def xlsx_rows(response) -> list[list]:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".xlsx") as fh:
        fh.write(b"".join(response.streaming_content))
        fh.flush()
        book = CalamineWorkbook.from_path(fh.name)
        return book.get_sheet_by_name(book.sheet_names[0]).to_python()


@pytest.fixture
def yiwu_appeal(world, staff):
    from tuanju.appeals.photos import clean_photo

    appeal = actions.file_appeal(
        actions.NewAppeal(
            unit=world["330782001"],
            category=category(),
            content="稠城街道快递网点拖欠工资",
            phone="13800001111",
            contact_name="张伟",
        ),
        actor=staff["yiwu_cadre"],
        photos=[clean_photo(jpeg_upload())],
    )
    return appeal


@pytest.mark.django_db
class TestScope:
    def test_dongyang_cadre_sees_nothing_of_yiwu(self, world, staff, yiwu_appeal, staff_client):
        station = make_station(world["330782001"], actor=staff["yiwu_cadre"])
        actions.record_service(station, people_count=5, actor=staff["yiwu_cadre"])
        client = staff_client(staff["dongyang_cadre"])
        pk = yiwu_appeal.pk
        photo = yiwu_appeal.photos.get().pk
        for name, args in [
            ("appeals:detail", [pk]),
            ("appeals:photo", [pk, photo]),
            ("appeals:station-detail", [station.pk]),
            ("appeals:station-poster", [station.pk]),
            ("appeals:station-edit", [station.pk]),
        ]:
            assert client.get(reverse(name, args=args)).status_code == 404, name
        for name in ("appeals:route", "appeals:reply", "appeals:accept", "appeals:close", "appeals:reveal"):
            assert (
                client.post(reverse(name, args=[pk]), {"text": "x" * 10, "reason": "x"}).status_code == 404
            ), name
        assert (
            client.post(reverse("appeals:station-record", args=[station.pk]), {"people_count": 3}).status_code
            == 404
        )
        page = client.get(reverse("appeals:list")).content.decode()
        assert yiwu_appeal.title not in page
        assert (
            client.get(reverse("appeals:list"), {"q": yiwu_appeal.number}).context["page_obj"].paginator.count
            == 0
        )
        assert "稠城暖心驿站" not in client.get(reverse("appeals:station-list")).content.decode()
        rows = xlsx_rows(client.get(reverse("appeals:export")))
        assert len(rows) == 1  # the header only
        assert len(xlsx_rows(client.get(reverse("appeals:station-records-export")))) == 1
        stats = client.get(reverse("appeals:stats")).context
        assert stats["stats"]["total"] == 0
        api = client.get("/api/v1/appeals/").json()
        assert api["count"] == 0
        assert client.get(f"/api/v1/appeals/{pk}/").status_code == 404
        assert client.get("/api/v1/stations/").json()["count"] == 0
        assert client.get(f"/api/v1/stations/{station.pk}/").status_code == 404
        assert client.get("/api/v1/service-records/").json()["count"] == 0
        assert client.post(f"/api/v1/appeals/{pk}/reply/", {"text": "hello world"}).status_code == 404

    def test_yiwu_cadre_sees_them(self, world, staff, yiwu_appeal, staff_client):
        client = staff_client(staff["yiwu_cadre"])
        assert client.get(reverse("appeals:detail", args=[yiwu_appeal.pk])).status_code == 200
        photo = client.get(reverse("appeals:photo", args=[yiwu_appeal.pk, yiwu_appeal.photos.get().pk]))
        assert photo.status_code == 200 and photo["Content-Type"] == "image/jpeg"
        assert client.get("/api/v1/appeals/").json()["count"] == 1
        rows = xlsx_rows(client.get(reverse("appeals:export")))
        assert rows[1][0] == yiwu_appeal.number and rows[1][-1] == "138****1111"


@pytest.mark.django_db
class TestStaffPages:
    def test_list_filters_and_pages_render(self, world, staff, appeal_depts, yiwu_appeal, staff_client):
        client = staff_client(staff["yiwu_cadre"])
        other = make_appeal(world["330782"], actor=staff["yiwu_cadre"], name="心理健康")
        actions.route(other, actor=staff["yiwu_cadre"], department=appeal_depts["yiwu_hr"], time_limit_days=1)
        Appeal.objects.filter(pk=other.pk).update(due_date=date(2026, 1, 5))
        page = client.get(reverse("appeals:list"))
        assert page.status_code == 200 and page.context["page_obj"].paginator.count == 2
        assert (
            client.get(reverse("appeals:list"), {"due": "overdue"}).context["page_obj"].paginator.count == 1
        )
        assert (
            client.get(reverse("appeals:list"), {"status": "received"}).context["page_obj"].paginator.count
            == 1
        )
        assert (
            client.get(reverse("appeals:list"), {"category": category("心理健康").pk})
            .context["page_obj"]
            .paginator.count
            == 1
        )
        assert (
            client.get(reverse("appeals:list"), {"q": "13800001111"}).context["page_obj"].paginator.count == 2
        )
        assert (
            client.get(reverse("appeals:list"), {"q": other.number}).context["page_obj"].paginator.count == 1
        )
        for name in (
            "appeals:stats",
            "appeals:create",
            "appeals:categories",
            "appeals:departments",
            "appeals:calendar",
            "appeals:import",
            "appeals:station-list",
            "appeals:station-create",
            "appeals:intake-link",
        ):
            assert client.get(reverse(name)).status_code == 200, name
        assert client.get(reverse("appeals:detail", args=[other.pk])).status_code == 200
        svg = client.get(reverse("appeals:intake-link"), {"unit": "330782001", "format": "svg"})
        assert svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content

    def test_staff_entry_and_the_whole_cycle_through_the_pages(
        self, world, staff, appeal_depts, staff_client
    ):
        cadre = staff_client(staff["yiwu_cadre"])
        response = cadre.post(
            reverse("appeals:create"),
            {
                "unit": "330782",
                "category": category("住房").pk,
                "source": "staff",
                "content": "想申请人才公寓，不知道流程",
                "contact_name": "刘洋",
                "phone": "13800002222",
                "photos": [jpeg_upload()],
            },
        )
        assert response.status_code == 302
        appeal = Appeal.objects.get()
        assert appeal.photos.count() == 1 and appeal.created_by == staff["yiwu_cadre"]
        bad = cadre.post(reverse("appeals:route", args=[appeal.pk]), {"unit": "330783001"})
        assert bad.status_code == 400
        ok = cadre.post(
            reverse("appeals:route", args=[appeal.pk]),
            {"department": appeal_depts["yiwu_hr"].pk, "time_limit_days": 3},
        )
        assert ok.status_code == 302
        appeal.refresh_from_db()
        assert appeal.status == Status.ASSIGNED and appeal.time_limit_days == 3
        handler = staff_client(appeal_depts["hr_user"])
        page = handler.get(reverse("appeals:detail", args=[appeal.pk]))
        assert page.status_code == 200 and page.context["may_reply"] and not page.context["may_route"]
        assert (
            handler.post(
                reverse("appeals:route", args=[appeal.pk]), {"department": appeal_depts["yiwu_justice"].pk}
            ).status_code
            == 403
        )
        handler.post(reverse("appeals:accept", args=[appeal.pk]))
        handler.post(reverse("appeals:note", args=[appeal.pk]), {"note": "已电话联系当事人"})
        handler.post(reverse("appeals:reply", args=[appeal.pk]), {"text": "人才公寓申请流程已短信发送给您。"})
        appeal.refresh_from_db()
        assert appeal.status == Status.REPLIED
        cadre.post(reverse("appeals:close", args=[appeal.pk]), {"reason": "已回访"})
        appeal.refresh_from_db()
        assert appeal.status == Status.CLOSED

    def test_department_account_pages(self, world, staff, appeal_depts, staff_client):
        routed = make_appeal(world["330782"], actor=staff["yiwu_cadre"])
        hidden = make_appeal(world["330782"], actor=staff["yiwu_cadre"])
        actions.route(routed, actor=staff["yiwu_cadre"], department=appeal_depts["yiwu_hr"])
        client = staff_client(appeal_depts["hr_user"])
        page = client.get(reverse("appeals:list"))
        assert [a.pk for a in page.context["page_obj"]] == [routed.pk]
        assert client.get(reverse("appeals:detail", args=[hidden.pk])).status_code == 404
        assert client.get(reverse("appeals:departments")).status_code == 403
        assert client.get(reverse("appeals:create")).status_code == 403
        assert client.get(reverse("appeals:station-list")).context["station_total"] == 0
        api = client.get("/api/v1/appeals/").json()
        assert [row["id"] for row in api["results"]] == [routed.pk]
        assert client.get(f"/api/v1/appeals/{hidden.pk}/").status_code == 404
        assert (
            client.post(f"/api/v1/appeals/{routed.pk}/reply/", {"text": "已处理完毕，请查收。"}).status_code
            == 200
        )
        viewer = staff_client(appeal_depts["hr_viewer"])
        assert viewer.post(f"/api/v1/appeals/{routed.pk}/close/", {}).status_code == 403

    def test_viewer_may_not_write(self, world, staff, yiwu_appeal, staff_client, appeal_depts):
        viewer = staff_client(staff["yiwu_viewer"])
        assert viewer.get(reverse("appeals:create")).status_code == 403
        assert (
            viewer.post(
                reverse("appeals:route", args=[yiwu_appeal.pk]), {"department": appeal_depts["yiwu_hr"].pk}
            ).status_code
            == 403
        )
        assert (
            viewer.post(
                reverse("appeals:reply", args=[yiwu_appeal.pk]), {"text": "no permission"}
            ).status_code
            == 403
        )
        assert (
            viewer.post(
                "/api/v1/appeals/", {"unit": "330782", "category": "住房", "content": "hello world"}
            ).status_code
            == 403
        )
        assert viewer.get(reverse("appeals:station-create")).status_code == 403

    def test_reveal_is_audited_and_anonymity_respected(self, world, staff, appeal_depts, staff_client):
        anonymous = make_appeal(world["330782"], actor=staff["yiwu_admin"], is_anonymous=True)
        actions.route(anonymous, actor=staff["yiwu_admin"], department=appeal_depts["yiwu_hr"])
        page = (
            staff_client(appeal_depts["hr_user"])
            .get(reverse("appeals:detail", args=[anonymous.pk]))
            .content.decode()
        )
        assert "138****1111" not in page and "张伟" not in page
        assert (
            staff_client(appeal_depts["hr_user"])
            .post(reverse("appeals:reveal", args=[anonymous.pk]))
            .status_code
            == 403
        )
        admin = staff_client(staff["yiwu_admin"])
        shown = admin.post(reverse("appeals:reveal", args=[anonymous.pk]), HTTP_HX_REQUEST="true")
        assert shown.content.decode() == '<span class="code">13800001111</span>'
        assert AuditEvent.objects.filter(action="view_pii", object_type="appeals.appeal").count() == 1
        api = staff_client(appeal_depts["hr_user"]).get(f"/api/v1/appeals/{anonymous.pk}/").json()
        assert api["contact_name"] == "匿名" and api["phone_masked"] == ""

    def test_categories_departments_accounts_and_calendar(self, world, staff, staff_client):
        cadre = staff_client(staff["yiwu_cadre"])
        pk = category("住房").pk
        assert cadre.get(reverse("appeals:category-edit", args=[pk])).status_code == 403
        admin = staff_client(staff["yiwu_admin"])
        response = admin.post(
            reverse("appeals:category-edit", args=[pk]),
            {
                "name": "住房",
                "time_limit_days": 7,
                "department_kind": "housing",
                "synonyms": "租房",
                "sort": 60,
                "is_active": "on",
            },
        )
        assert response.status_code == 302 and category("住房").time_limit_days == 7
        response = cadre.post(
            reverse("appeals:department-create"),
            {
                "unit": "330782",
                "name": "义乌市民政局",
                "kind": "civil",
                "email": "mz@yiwu.example.cn",
                "is_active": "on",
            },
        )
        assert response.status_code == 302
        department = Department.objects.get(name="义乌市民政局")
        assert cadre.post(reverse("appeals:department-detail", args=[department.pk]), {}).status_code == 403
        response = admin.post(
            reverse("appeals:department-detail", args=[department.pk]),
            {
                "username": "mz_handler",
                "full_name": "民政局经办人",
                "email": "a@b.cn",
                "role": "cadre",
                "password": "Mz-Handler-2026!",
            },
        )
        assert response.status_code == 302
        account = department.staff.get()
        assert (
            account.unit is None
            and account.department == department
            and account.check_password("Mz-Handler-2026!")
        )
        dong = staff_client(staff["dongyang_cadre"])
        assert dong.get(reverse("appeals:department-detail", args=[department.pk])).status_code == 404
        assert (
            cadre.post(reverse("appeals:calendar"), {"day": "2027-02-08", "is_workday": "0"}).status_code
            == 403
        )
        admin.post(reverse("appeals:calendar"), {"day": "2027-02-08", "is_workday": "0", "note": "春节"})
        assert CalendarDay.objects.get().note == "春节"

    def test_import_through_the_ui(
        self, world, staff, appeal_depts, staff_client, tmp_path, appeals_huey, settings
    ):
        settings.TUANJU = {**settings.TUANJU, "IMPORT_DIR": tmp_path / "imports"}
        path = write_xlsx(tmp_path / "12345.xlsx")
        client = staff_client(staff["yiwu_cadre"])
        response = client.post(
            reverse("appeals:import"),
            {"unit": "330782", "file": SimpleUploadedFile("12345.xlsx", path.read_bytes())},
        )
        assert response.status_code == 302
        job_page = client.get(response["Location"])
        assert job_page.context["job"].status == "done" and job_page.context["summary"]["created"] == 4
        report = client.get(reverse("appeals:import-report", args=[job_page.context["job"].pk]))
        assert report.status_code == 200
        assert staff_client(staff["dongyang_cadre"]).get(response["Location"]).status_code == 404


@pytest.mark.django_db
class TestStations:
    def test_registry_records_and_rollup(self, world, staff, staff_client):
        client = staff_client(staff["yiwu_cadre"])
        from tuanju.appeals.models import ServiceType

        services = list(ServiceType.objects.filter(name__in=["体检", "理发"]).values_list("pk", flat=True))
        response = client.post(
            reverse("appeals:station-create"),
            {
                "unit": "330782001001",
                "name": "华新小哥加油站",
                "kind": "courier",
                "address": "义乌市稠城街道华新路8号",
                "latitude": "29.306800",
                "longitude": "120.075100",
                "opening_hours": "全天",
                "services": services,
                "is_active": "on",
            },
        )
        assert response.status_code == 302
        station = Station.objects.get()
        assert station.services.count() == 2 and station.latitude is not None
        bad = client.post(
            reverse("appeals:station-create"),
            {"unit": "330782", "name": "x", "kind": "warm", "address": "a", "latitude": "29.1"},
        )
        assert bad.status_code == 200 and "经度和纬度需同时填写" in bad.content.decode()
        client.post(
            reverse("appeals:station-record", args=[station.pk]),
            {
                "served_on": date.today().isoformat(),
                "people_count": 35,
                "service": services[0],
                "note": "义诊活动",
            },
        )
        other = make_station(world["330782001"], actor=staff["yiwu_cadre"], name="另一驿站")
        actions.record_service(other, people_count=10, actor=staff["yiwu_cadre"])
        assert ServiceRecord.objects.filter(station=station).get().people_count == 35
        page = client.get(reverse("appeals:station-list"))
        assert page.context["totals"]["total"] == 45
        town = world["330782001"]
        assert [(r["unit"].code, r["stations"], r["served"]) for r in page.context["rollup"]] == [
            (town.code, 2, 45)
        ]
        deeper = client.get(reverse("appeals:station-list"), {"unit": "330782001"}).context["rollup"]
        assert [(r["unit"].code, r["stations"], r["served"]) for r in deeper] == [("330782001001", 1, 35)]
        detail = client.get(reverse("appeals:station-detail", args=[station.pk]))
        assert detail.context["totals"]["year"] == 35
        poster = client.get(reverse("appeals:station-poster", args=[station.pk]))
        assert poster.status_code == 200 and "data:image/svg+xml" in poster.content.decode()
        api = client.get("/api/v1/stations/").json()
        assert {row["name"]: row["served_total"] for row in api["results"]} == {
            "华新小哥加油站": 35,
            "另一驿站": 10,
        }
        created = client.post("/api/v1/service-records/", {"station": station.pk, "people_count": 4})
        assert created.status_code == 201
        rows = xlsx_rows(client.get(reverse("appeals:station-records-export")))
        assert len(rows) == 4 and rows[0][0] == "日期"
        dong = staff_client(staff["dongyang_cadre"])
        assert (
            dong.post("/api/v1/service-records/", {"station": station.pk, "people_count": 4}).status_code
            == 400
        )

    def test_record_rules(self, world, staff):
        station = make_station(world["330782001"], actor=staff["yiwu_cadre"])
        from django.core.exceptions import ValidationError

        with pytest.raises(ValidationError):
            actions.record_service(station, people_count=0, actor=staff["yiwu_cadre"])
        with pytest.raises(ValidationError):
            actions.record_service(station, served_on=date(2099, 1, 1), actor=staff["yiwu_cadre"])


@pytest.mark.django_db
def test_api_create_and_route(world, staff, appeal_depts, staff_client):
    client = staff_client(staff["yiwu_cadre"])
    response = client.post(
        "/api/v1/appeals/",
        {"unit": "330782", "category": "就业创业", "content": "希望参加电商直播培训", "phone": "13800001234"},
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert response.json()["phone_masked"] == "138****1234"
    assert (
        client.post(
            "/api/v1/appeals/", {"unit": "330783", "category": "就业创业", "content": "外县的诉求内容"}
        ).status_code
        == 400
    )
    routed = client.post(
        f"/api/v1/appeals/{pk}/route/",
        {"department": appeal_depts["yiwu_hr"].pk, "time_limit_days": 2},
        content_type="application/json",
    )
    assert (
        routed.status_code == 200
        and routed.json()["status"] == "assigned"
        and routed.json()["time_limit_days"] == 2
    )
    illegal = client.post(f"/api/v1/appeals/{pk}/close/", {}, content_type="application/json")
    assert illegal.status_code == 400
    assert client.get("/api/v1/departments/").json()["count"] == 2
