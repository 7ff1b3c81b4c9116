import io
import zipfile
from datetime import date, timedelta

import pytest
import xlsxwriter
from django.urls import reverse
from django.utils import timezone
from python_calamine import CalamineWorkbook

from tuanju.audit.models import AuditEvent
from tuanju.core import idcard
from tuanju.imports.models import ImportJob
from tuanju.people import actions
from tuanju.people.importing import POLITICAL_LABELS
from tuanju.people.models import Category, ContactLog, LiaisonDuty, Person, PoliticalStatus

ZHANG_ID = idcard.make("330782", date(1999, 3, 5), 11, male=True)
LI_ID = idcard.make("330782", date(2001, 7, 9), 12, male=False)
DONG_ID = idcard.make("330783", date(1998, 1, 2), 13, male=True)


def add_person(unit, name, *, resident_id=None, phone=None, **data):
    if resident_id:
        data.setdefault("birth_date", idcard.birth_date(resident_id))
        data.setdefault("gender", idcard.gender(resident_id))
    return actions.save_person(
        Person(), data={"unit": unit, "name": name, **data}, resident_id=resident_id, phone=phone, actor=None
    )


@pytest.fixture
def roster(world):
    town = world["330782001001"]
    return {
        "zhang": add_person(town, "张三", resident_id=ZHANG_ID, phone="13812345678", is_backbone=True),
        "li": add_person(
            world["330782"],
            "李四",
            resident_id=LI_ID,
            phone="13900001111",
            political_status=PoliticalStatus.LEAGUE,
            in_talent_pool=True,
            category=Category.objects.get(name="外卖骑手"),
        ),
        "wang": add_person(world["330782"], "王五", phone="13700002222", birth_date=date(1985, 6, 1)),
        "dong": add_person(world["330783001"], "东阳人", resident_id=DONG_ID, phone="13600003333"),
    }


def bad_check_digit(number):
    return number[:-1] + ("1" if number[-1] != "1" else "2")


def names(response):
    return [p.name for p in response.context["page_obj"]]


def list_url(**params):
    from urllib.parse import urlencode

    return reverse("people:list") + ("?" + urlencode(params) if params else "")


# --- List, search, filters, sort, pagination --------------------------------------------------


def test_list_is_scoped_and_masked(staff, roster, client_for):
    response = client_for(staff["yiwu_cadre"]).get(list_url())
    assert response.status_code == 200
    assert sorted(names(response)) == sorted(["张三", "李四", "王五"])
    content = response.content.decode()
    assert roster["zhang"].resident_id_masked in content
    assert "138****5678" in content
    assert ZHANG_ID not in content and "13812345678" not in content


@pytest.mark.parametrize(
    ("term", "expected"),
    [("zs", ["张三"]), ("ZS", ["张三"]), ("5678", ["张三"]), (ZHANG_ID, ["张三"]), ("李", ["李四"])],
)
def test_search(staff, roster, client_for, term, expected):
    response = client_for(staff["yiwu_cadre"]).get(list_url(q=term))
    assert names(response) == expected


def test_filters(staff, roster, client_for, world):
    client = client_for(staff["yiwu_cadre"])
    assert names(client.get(list_url(unit="330782001001"))) == ["张三"]
    assert names(client.get(list_url(unit="330783"))) == []  # another county: nothing, not an error
    assert names(client.get(list_url(category="外卖骑手"))) == ["李四"]
    assert names(client.get(list_url(category="生活新业态青年"))) == ["李四"]  # parent includes children
    assert names(client.get(list_url(political_status="league"))) == ["李四"]
    assert names(client.get(list_url(backbone="1"))) == ["张三"]
    assert names(client.get(list_url(talent="1"))) == ["李四"]
    assert sorted(names(client.get(list_url(min_age=30)))) == ["王五"]
    assert sorted(names(client.get(list_url(max_age=30)))) == ["张三", "李四"]
    actions.bulk_tag(Person.objects.filter(pk=roster["wang"].pk), "志愿者", actor=staff["yiwu_cadre"])
    assert names(client.get(list_url(tag="志愿者"))) == ["王五"]


def test_sort_links_and_order(staff, roster, client_for):
    client = client_for(staff["yiwu_cadre"])
    assert names(client.get(list_url(sort="name"))) == ["李四", "王五", "张三"]
    assert names(client.get(list_url(sort="-name"))) == ["张三", "王五", "李四"]
    assert names(client.get(list_url(sort="birth"))) == ["王五", "张三", "李四"]
    response = client.get(list_url(sort="name", q="", backbone=""))
    assert "sort=-name" in response.content.decode()  # a second click reverses


def test_pagination(staff, world, client_for):
    for i in range(51):
        add_person(world["330782"], f"青年{chr(0x4E00 + i)}", phone=f"138000{i:05d}")
    client = client_for(staff["yiwu_cadre"])
    first = client.get(list_url())
    assert first.context["page_obj"].paginator.count == 51
    assert len(first.context["page_obj"].object_list) == 50
    assert len(client.get(list_url(page=2)).context["page_obj"].object_list) == 1
    assert client.get(list_url(page="x")).status_code == 200


def test_empty_state(staff, world, client_for):
    response = client_for(staff["yiwu_cadre"]).get(list_url())
    assert response.status_code == 200
    assert 'class="empty-state"' in response.content.decode()


# --- Detail and reveal -----------------------------------------------------------------------------


def test_detail_masks_by_default(staff, roster, client_for):
    response = client_for(staff["yiwu_admin"]).get(reverse("people:detail", args=[roster["zhang"].pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert roster["zhang"].resident_id_masked in content and ZHANG_ID not in content
    assert "13812345678" not in content
    assert reverse("people:reveal", args=[roster["zhang"].pk]) in content  # the admin gets a "show" button


def test_reveal_by_admin_is_audit_logged(staff, roster, client_for):
    person = roster["zhang"]
    client = client_for(staff["yiwu_admin"])
    url = reverse("people:reveal", args=[person.pk])
    response = client.post(url, {"field": "resident_id"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert ZHANG_ID in response.content.decode()
    assert "<html" not in response.content.decode()  # only the fragment is swapped in
    event = AuditEvent.objects.get(action="view_pii", object_id=str(person.pk))
    assert event.actor == staff["yiwu_admin"] and event.details["field"] == "resident_id"
    plain = client.post(url, {"field": "phone"})  # without HTMX: the whole page with the value shown
    assert "13812345678" in plain.content.decode() and "<html" in plain.content.decode()
    assert client.post(url, {"field": "name"}).status_code == 404


@pytest.mark.parametrize("role", ["yiwu_cadre", "yiwu_viewer"])
def test_reveal_refused_for_other_roles(staff, roster, client_for, role):
    client = client_for(staff[role])
    detail = client.get(reverse("people:detail", args=[roster["zhang"].pk])).content.decode()
    assert reverse("people:reveal", args=[roster["zhang"].pk]) not in detail
    response = client.post(reverse("people:reveal", args=[roster["zhang"].pk]), {"field": "resident_id"})
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="view_pii").exists()


# --- Create and edit ------------------------------------------------------------------------------


def form_data(**overrides):
    data = {
        "name": "赵六",
        "unit": "330782001001",
        "resident_id": "",
        "phone": "",
        "gender": "",
        "birth_date": "",
        "political_status": "",
        "category": "",
    }
    data.update(overrides)
    return data


def test_create_derives_birth_date_and_gender_from_the_id(staff, world, client_for):
    number = idcard.make("330782", date(2000, 2, 29), 21, male=False)
    response = client_for(staff["yiwu_cadre"]).post(
        reverse("people:create"),
        form_data(
            resident_id=number.lower()[:-1] + number[-1].lower(),
            phone="+86 138-0013-8000",
            political_status="league",
            category=str(Category.objects.get(name="快递员").pk),
            is_backbone="on",
        ),
    )
    assert response.status_code == 302
    person = Person.objects.get(name="赵六")
    assert response["Location"] == reverse("people:detail", args=[person.pk])
    assert person.reveal_resident_id() == number
    assert person.reveal_phone() == "13800138000"
    assert (person.birth_date, person.gender) == (date(2000, 2, 29), "F")
    assert person.is_backbone and person.category.name == "快递员"
    assert AuditEvent.objects.filter(action="create", object_id=str(person.pk)).exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"resident_id": bad_check_digit(ZHANG_ID)}, "身份证号校验位错误"),
        ({"resident_id": "33078219990305"}, "身份证号应为18位"),
        ({"phone": "12345"}, "手机号应为以1开头的11位数字"),
        ({}, "身份证号和手机号至少填写一项"),
        ({"phone": "13811112222", "birth_date": "1999.13.40"}, "无法识别"),
        ({"phone": "13811112222", "birth_date": "2999-01-01"}, "日期不合理"),
        ({"resident_id": LI_ID, "birth_date": "2001-07-10"}, "与身份证号中的出生日期"),
        ({"resident_id": ZHANG_ID, "gender": "F"}, "与身份证号中的性别不一致"),
        ({"phone": "13811112222", "name": "张3"}, "含有数字"),
        ({"phone": "13811112222", "political_status": "路人"}, "不在可选范围内"),
        ({"phone": "13811112222", "unit": "330783"}, "330783"),
    ],
)
def test_create_validation_errors(staff, world, client_for, overrides, message):
    response = client_for(staff["yiwu_cadre"]).post(reverse("people:create"), form_data(**overrides))
    assert response.status_code == 200
    errors = " ".join(str(e) for errs in response.context["form"].errors.values() for e in errs)
    assert message in errors
    assert 'class="invalid-feedback d-block"' in response.content.decode()
    assert not Person.objects.filter(name__in=["赵六", "张3"]).exists()


def test_create_refuses_an_id_already_registered_anywhere(staff, roster, client_for):
    # Registered in Dongyang, outside the Yiwu cadre's scope: still refused, without saying where.
    response = client_for(staff["yiwu_cadre"]).post(reverse("people:create"), form_data(resident_id=DONG_ID))
    assert "该身份证号已登记" in response.content.decode()
    assert "东阳人" not in response.content.decode()


def test_edit_keeps_personal_fields_left_empty(staff, roster, client_for):
    person = roster["zhang"]
    client = client_for(staff["yiwu_cadre"])
    page = client.get(reverse("people:edit", args=[person.pk]))
    assert page.status_code == 200 and ZHANG_ID not in page.content.decode()
    data = form_data(
        name="张三丰", unit="330782001001", birth_date="1999-03-05", gender="M", is_backbone="on"
    )
    response = client.post(reverse("people:edit", args=[person.pk]), data)
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.name == "张三丰" and person.reveal_resident_id() == ZHANG_ID
    assert person.reveal_phone() == "13812345678"
    # The stored ID still rules: a birth date that contradicts it is refused.
    bad = client.post(reverse("people:edit", args=[person.pk]), {**data, "birth_date": "1999-04-05"})
    assert "与身份证号中的出生日期" in bad.content.decode()
    # Its own ID is not "already registered".
    same = client.post(reverse("people:edit", args=[person.pk]), {**data, "resident_id": ZHANG_ID})
    assert same.status_code == 302


def test_viewer_may_not_create_or_edit(staff, roster, client_for):
    client = client_for(staff["yiwu_viewer"])
    assert client.get(reverse("people:create")).status_code == 403
    assert client.post(reverse("people:edit", args=[roster["zhang"].pk]), form_data()).status_code == 403


# --- Bulk actions ---------------------------------------------------------------------------------


def test_bulk_actions(staff, roster, client_for, world):
    client = client_for(staff["yiwu_cadre"])
    url = reverse("people:bulk")
    ids = [roster["li"].pk, roster["wang"].pk]
    back = list_url(q="l")
    response = client.post(url, {"action": "tag", "tag": "重点联系", "people": ids, "next": back})
    assert response.status_code == 302 and response["Location"] == back
    assert set(Person.objects.filter(tags__name="重点联系").values_list("pk", flat=True)) == set(ids)
    client.post(url, {"action": "backbone_on", "people": ids})
    assert Person.objects.filter(pk__in=ids, is_backbone=True).count() == 2
    client.post(url, {"action": "backbone_off", "people": [roster["zhang"].pk]})
    assert not Person.objects.get(pk=roster["zhang"].pk).is_backbone
    client.post(url, {"action": "move", "unit": "330782002", "people": ids})
    assert set(Person.objects.filter(pk__in=ids).values_list("unit__code", flat=True)) == {"330782002"}
    # A unit outside the scope, or a person outside it, changes nothing.
    client.post(url, {"action": "move", "unit": "330783001", "people": ids})
    assert set(Person.objects.filter(pk__in=ids).values_list("unit__code", flat=True)) == {"330782002"}
    client.post(url, {"action": "backbone_on", "people": [roster["dong"].pk, roster["wang"].pk]})
    assert not Person.objects.get(pk=roster["dong"].pk).is_backbone
    # An offsite "next" is ignored.
    assert client.post(url, {"action": "backbone_on", "people": ids, "next": "https://evil.example/"})[
        "Location"
    ] == reverse("people:list")


def test_bulk_actions_need_a_writer(staff, roster, client_for):
    response = client_for(staff["yiwu_viewer"]).post(
        reverse("people:bulk"), {"action": "backbone_on", "people": [roster["wang"].pk]}
    )
    assert response.status_code == 403
    assert not Person.objects.get(pk=roster["wang"].pk).is_backbone


def test_list_shows_bulk_controls_only_to_writers(staff, roster, client_for):
    assert 'name="people"' in client_for(staff["yiwu_cadre"]).get(list_url()).content.decode()
    assert 'name="people"' not in client_for(staff["yiwu_viewer"]).get(list_url()).content.decode()


# --- Contact log and 1+N ----------------------------------------------------------------------------


def test_contact_log(staff, roster, client_for):
    person = roster["zhang"]
    client = client_for(staff["yiwu_cadre"])
    url = reverse("people:add-contact", args=[person.pk])
    today = timezone.localdate().isoformat()
    response = client.post(
        url, {"contacted_on": today, "channel": "visit", "summary": "上门走访，了解就业需求"}
    )
    assert response.status_code == 302
    entry = ContactLog.objects.get(person=person)
    assert entry.cadre == staff["yiwu_cadre"] and entry.channel == "visit"
    partial = client.post(
        url,
        {"contacted_on": today, "channel": "wechat", "summary": "微信回访"},
        headers={"HX-Request": "true"},
    )
    assert partial.status_code == 200
    assert "微信回访" in partial.content.decode() and "<html" not in partial.content.decode()
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    bad = client.post(url, {"contacted_on": future, "channel": "visit", "summary": "x"})
    assert bad.status_code == 200 and ContactLog.objects.filter(person=person).count() == 2
    detail = client.get(reverse("people:detail", args=[person.pk])).content.decode()
    assert "上门走访，了解就业需求" in detail
    viewer = client_for(staff["yiwu_viewer"]).post(
        url, {"contacted_on": today, "channel": "visit", "summary": "y"}
    )
    assert viewer.status_code == 403


def test_one_plus_n_overdue(staff, roster, client_for, world):
    from tuanju.accounts.models import Role
    from tuanju.people.models import ContactChannel

    cadre = staff["yiwu_cadre"]
    actions.bulk_set_backbone(
        Person.objects.filter(pk__in=[roster["li"].pk, roster["wang"].pk]), True, actor=None
    )
    client = client_for(staff["yiwu_admin"])
    response = client.post(
        reverse("people:duties"),
        {"cadre": cadre.pk, "people": [roster["zhang"].pk, roster["li"].pk, roster["wang"].pk]},
    )
    assert response.status_code == 302
    assert LiaisonDuty.objects.filter(cadre=cadre).count() == 3
    today = timezone.localdate()
    actions.log_contact(
        roster["zhang"],
        cadre=cadre,
        contacted_on=today - timedelta(days=40),
        channel=ContactChannel.PHONE,
        summary="电话",
    )
    actions.log_contact(
        roster["li"],
        cadre=cadre,
        contacted_on=today - timedelta(days=5),
        channel=ContactChannel.VISIT,
        summary="走访",
    )
    # A contact by someone else does not count for this cadre.
    actions.log_contact(
        roster["wang"],
        cadre=staff["yiwu_admin"],
        contacted_on=today,
        channel=ContactChannel.VISIT,
        summary="别人",
    )
    page = client.get(reverse("people:duties"))
    (row,) = page.context["rows"]
    flags = {duty.person.name: (duty.overdue, duty.last_contact) for duty in row["duties"]}
    assert flags["张三"] == (True, today - timedelta(days=40))
    assert flags["李四"] == (False, today - timedelta(days=5))
    assert flags["王五"] == (True, None)
    assert row["overdue"] == 2
    only = client.get(reverse("people:duties") + "?overdue=1")
    assert sorted(d.person.name for d in only.context["rows"][0]["duties"]) == ["张三", "王五"]
    # A Dongyang cadre sees none of it and cannot be given Yiwu youth.
    assert client_for(staff["dongyang_cadre"]).get(reverse("people:duties")).context["rows"] == []
    other = staff["dongyang_cadre"]
    assert other.role == Role.CADRE
    refused = client_for(staff["city_admin"]).post(
        reverse("people:duties"), {"cadre": other.pk, "people": [roster["zhang"].pk]}
    )
    assert refused.status_code == 200
    assert not LiaisonDuty.objects.filter(cadre=other).exists()


def test_non_writers_cannot_assign_duties(staff, roster, client_for):
    response = client_for(staff["yiwu_viewer"]).post(
        reverse("people:duties"), {"cadre": staff["yiwu_cadre"].pk, "people": [roster["zhang"].pk]}
    )
    assert response.status_code == 403


# --- Import ---------------------------------------------------------------------------------------


@pytest.fixture
def immediate_huey(settings, tmp_path):
    from huey.contrib.djhuey import HUEY

    settings.TUANJU = {**settings.TUANJU, "IMPORT_DIR": tmp_path / "imports"}
    previous = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = previous


def roster_file(rows, name="花名册.xlsx"):
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"strings_to_numbers": False})
    sheet = workbook.add_worksheet("青年")
    sheet.write_row(0, 0, ["义乌市青年花名册"])
    sheet.write_row(1, 0, ["姓名", "身份证号", "手机号", "性别", "群体类别"])
    for i, row in enumerate(rows, start=2):
        for j, value in enumerate(row):
            sheet.write_string(i, j, value)
    workbook.close()
    buffer.seek(0)
    buffer.name = name
    return buffer


def test_import_through_the_ui(staff, world, client_for, immediate_huey):
    good = idcard.make("330782", date(1997, 5, 6), 31, male=True)
    upload = roster_file(
        [
            ["陈一", good, "13811110001", "男", "外卖骑手"],
            ["林二", "", "13811110002", "女", ""],
            ["坏行", bad_check_digit(good), "", "", ""],
        ]
    )
    client = client_for(staff["yiwu_cadre"])
    page = client.get(reverse("people:import"))
    assert page.status_code == 200 and reverse("people:import-template") in page.content.decode()
    response = client.post(reverse("people:import"), {"file": upload, "unit": "330782001001"})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("people:import-job", args=[job.pk])
    assert job.status == ImportJob.Status.DONE
    assert job.summary["total"] == 3 and job.summary["created"] == 2 and job.summary["rejected"] == 1
    assert set(Person.objects.filter(unit__code="330782001001").values_list("name", flat=True)) == {
        "陈一",
        "林二",
    }

    job_page = client.get(response["Location"])
    assert job_page.status_code == 200
    progress = client.get(reverse("people:import-progress", args=[job.pk])).content.decode()
    assert "hx-trigger" not in progress  # finished: the partial stops polling
    assert reverse("people:import-report", args=[job.pk]) in progress

    report = client.get(reverse("people:import-report", args=[job.pk]))
    assert report.status_code == 200
    assert "attachment" in report["Content-Disposition"]
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(b"".join(report.streaming_content)))
    rows = workbook.get_sheet_by_index(0).to_python()
    assert rows[1][2].startswith("【身份证号】") and rows[1][3] == "坏行"

    # Other staff of the same scope see the job; only the uploader (or a role that sees personal
    # data) downloads the report, which repeats the uploaded cells in full.
    assert (
        client_for(staff["yiwu_viewer"]).get(reverse("people:import-job", args=[job.pk])).status_code == 200
    )
    assert (
        client_for(staff["yiwu_viewer"]).get(reverse("people:import-report", args=[job.pk])).status_code
        == 403
    )
    assert (
        client_for(staff["yiwu_admin"]).get(reverse("people:import-report", args=[job.pk])).status_code == 200
    )


def test_import_progress_polls_while_running(staff, world, client_for):
    job = ImportJob.objects.create(
        kind="roster",
        unit=world["330782"],
        created_by=staff["yiwu_cadre"],
        original_name="a.xlsx",
        stored_path="/nonexistent",
        status=ImportJob.Status.RUNNING,
        rows_estimate=200,
        rows_done=50,
    )
    partial = (
        client_for(staff["yiwu_cadre"]).get(reverse("people:import-progress", args=[job.pk])).content.decode()
    )
    assert 'hx-trigger="every 1s"' in partial and "25%" in partial
    assert reverse("people:import-report", args=[job.pk]) not in partial


def test_import_rejects_a_file_with_a_chinese_message(staff, world, client_for, immediate_huey):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("名单.txt", b"hello")
    response = client_for(staff["yiwu_cadre"]).post(
        reverse("people:import"), {"file": upload, "unit": "330782"}
    )
    assert response.status_code == 200
    assert "只支持" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_import_needs_a_writer_and_a_unit_in_scope(staff, world, client_for, immediate_huey):
    assert client_for(staff["yiwu_viewer"]).get(reverse("people:import")).status_code == 403
    response = client_for(staff["yiwu_cadre"]).post(
        reverse("people:import"),
        {"file": roster_file([["陈一", "", "13811110001", "", ""]]), "unit": "330783"},
    )
    assert response.status_code == 200 and not ImportJob.objects.exists()


def test_template_download(staff, world, client_for):
    response = client_for(staff["yiwu_viewer"]).get(reverse("people:import-template"))
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert workbook.sheet_names == ["花名册", "说明", "选项"]
    hidden = {m.name for m in workbook.sheets_metadata if "Hidden" in str(m.visible)}
    assert hidden == {"选项"}
    header = workbook.get_sheet_by_name("花名册").to_python()[0]
    assert header[0] == "姓名*" and "身份证号" in header and "是否骨干" in header
    options = workbook.get_sheet_by_name("选项").to_python()
    columns = list(zip(*options, strict=False))
    assert set(POLITICAL_LABELS.values()) <= set(columns[1])
    assert "外卖骑手" in columns[2]
    guide = "\n".join(str(c) for row in workbook.get_sheet_by_name("说明").to_python() for c in row)
    assert "1999-03-05" in guide and "11位" in guide and "文本" in guide
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert sheet_xml.count("<dataValidation ") == 5 and "选项" in sheet_xml


def test_template_header_is_recognised_by_the_import(staff, world, client_for, tmp_path):
    from tuanju.imports.engine import Importer
    from tuanju.people.importing import RosterSpec

    path = tmp_path / "模板.xlsx"
    path.write_bytes(
        b"".join(client_for(staff["yiwu_cadre"]).get(reverse("people:import-template")).streaming_content)
    )
    summary = Importer(RosterSpec(world["330782"]), dry_run=True).run(path)
    assert summary.sheets == ["花名册"] and summary.total == 0


# --- Export ---------------------------------------------------------------------------------------


def exported_rows(response):
    assert response.status_code == 200
    assert "%E8%8A%B1%E5%90%8D%E5%86%8C.xlsx" in response["Content-Disposition"]  # 花名册.xlsx
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(b"".join(response.streaming_content)))
    return workbook.get_sheet_by_index(0).to_python()


def test_export_is_masked_for_a_cadre_and_formula_safe(staff, roster, client_for, world):
    add_person(world["330782"], "=1+1", phone="13500001111")
    client = client_for(staff["yiwu_cadre"])
    rows = exported_rows(client.get(reverse("people:export")))
    assert rows[0][0] == "姓名"
    by_name = {row[0]: row for row in rows[1:]}
    assert set(by_name) == {"张三", "李四", "王五", "'=1+1"}
    assert by_name["张三"][3] == roster["zhang"].resident_id_masked and by_name["张三"][4] == "138****5678"
    assert client.get(reverse("people:export") + "?unmask=1").status_code == 403
    filtered = exported_rows(client.get(reverse("people:export") + "?q=zs&page=3"))
    assert [row[0] for row in filtered[1:]] == ["张三"]
    event = AuditEvent.objects.filter(action="export").latest("at")
    assert event.details["filters"] == {"q": "zs"} and event.details["unmasked"] is False


def test_export_unmasked_for_an_admin_who_asks(staff, roster, client_for):
    client = client_for(staff["yiwu_admin"])
    masked = {row[0]: row for row in exported_rows(client.get(reverse("people:export")))[1:]}
    assert masked["张三"][3] == roster["zhang"].resident_id_masked
    rows = {
        row[0]: row
        for row in exported_rows(client.get(reverse("people:export") + f"?unmask=1&q={ZHANG_ID}"))[1:]
    }
    assert rows["张三"][3] == ZHANG_ID and rows["张三"][4] == "13812345678"
    event = AuditEvent.objects.filter(action="export").latest("at")
    assert event.details["unmasked"] is True and ZHANG_ID not in str(event.details)


# --- Scope ----------------------------------------------------------------------------------------


def test_dongyang_cadre_cannot_reach_yiwu_people(staff, roster, client_for, immediate_huey):
    yiwu_person = roster["zhang"]
    yiwu = client_for(staff["yiwu_cadre"])
    yiwu.post(
        reverse("people:import"),
        {"file": roster_file([["陈一", "", "13811110001", "", ""]]), "unit": "330782"},
    )
    job = ImportJob.objects.get()

    client = client_for(staff["dongyang_cadre"])
    for name in ("people:detail", "people:edit"):
        assert client.get(reverse(name, args=[yiwu_person.pk])).status_code == 404
    assert client.post(reverse("people:edit", args=[yiwu_person.pk]), form_data()).status_code == 404
    assert client.post(reverse("people:reveal", args=[yiwu_person.pk]), {"field": "phone"}).status_code == 404
    assert (
        client.post(
            reverse("people:add-contact", args=[yiwu_person.pk]),
            {"contacted_on": "2024-01-01", "channel": "visit", "summary": "x"},
        ).status_code
        == 404
    )
    assert names(client.get(list_url())) == ["东阳人"]
    assert names(client.get(list_url(q=ZHANG_ID))) == []
    assert names(client.get(list_url(q="zs"))) == []
    assert [row[0] for row in exported_rows(client.get(reverse("people:export")))] == ["姓名", "东阳人"]
    for name in ("people:import-job", "people:import-progress", "people:import-report"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 404
    assert job.pk not in [j.pk for j in client.get(reverse("people:import")).context["jobs"]]
