from datetime import date

import pytest
from django.utils import timezone

from tuanju.audit.models import AuditEvent
from tuanju.core import idcard
from tuanju.people import actions
from tuanju.people.models import Category, ContactChannel, Person

ZHANG_ID = idcard.make("330782", date(1999, 3, 5), 11, male=True)
DONG_ID = idcard.make("330783", date(1998, 1, 2), 13, male=True)
NEW_ID = idcard.make("330782", date(2002, 10, 1), 41, male=False)

PEOPLE = "/api/v1/people/"
CONTACTS = "/api/v1/contacts/"


def add_person(unit, name, *, resident_id=None, phone=None, **data):
    if resident_id:
        data.setdefault("birth_date", idcard.birth_date(resident_id))
        data.setdefault("gender", idcard.gender(resident_id))
    return actions.save_person(
        Person(), data={"unit": unit, "name": name, **data}, resident_id=resident_id, phone=phone, actor=None
    )


@pytest.fixture
def roster(world):
    return {
        "zhang": add_person(world["330782001001"], "张三", resident_id=ZHANG_ID, phone="13812345678"),
        "li": add_person(world["330782"], "李四", phone="13900001111", is_backbone=True),
        "dong": add_person(world["330783001"], "东阳人", resident_id=DONG_ID, phone="13600003333"),
    }


def results(response):
    assert response.status_code == 200, response.content
    return {row["name"]: row for row in response.json()["results"]}


def test_list_is_scoped_and_masked(staff, roster, client_for):
    rows = results(client_for(staff["yiwu_cadre"]).get(PEOPLE))
    assert set(rows) == {"张三", "李四"}
    zhang = rows["张三"]
    assert zhang["resident_id"] == roster["zhang"].resident_id_masked and zhang["phone"] == "138****5678"
    assert zhang["unit"] == "330782001001" and zhang["birth_date"] == "1999-03-05" and zhang["gender"] == "M"
    assert not AuditEvent.objects.filter(action="view_pii").exists()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "zs"}, {"张三"}),
        ({"q": "1111"}, {"李四"}),
        ({"q": ZHANG_ID}, {"张三"}),
        ({"backbone": "1"}, {"李四"}),
        ({"unit": "330782001"}, {"张三"}),
        ({"sort": "-name", "q": "张"}, {"张三"}),
    ],
)
def test_list_filters(staff, roster, client_for, params, expected):
    assert set(results(client_for(staff["yiwu_cadre"]).get(PEOPLE, params))) == expected


def test_unmask_for_admin_is_audit_logged(staff, roster, client_for):
    client = client_for(staff["yiwu_admin"])
    rows = results(client.get(PEOPLE, {"unmask": "1"}))
    assert rows["张三"]["resident_id"] == ZHANG_ID and rows["李四"]["phone"] == "13900001111"
    event = AuditEvent.objects.get(action="view_pii")
    assert set(event.details["people"]) == {roster["zhang"].pk, roster["li"].pk}
    one = client.get(f"{PEOPLE}{roster['zhang'].pk}/", {"unmask": "1"}).json()
    assert one["phone"] == "13812345678"
    assert AuditEvent.objects.filter(action="view_pii", object_id=str(roster["zhang"].pk)).exists()
    masked = client.get(f"{PEOPLE}{roster['zhang'].pk}/").json()
    assert masked["resident_id"] == roster["zhang"].resident_id_masked


@pytest.mark.parametrize("role", ["yiwu_cadre", "yiwu_viewer"])
def test_unmask_refused_for_other_roles(staff, roster, client_for, role):
    client = client_for(staff[role])
    assert client.get(PEOPLE, {"unmask": "1"}).status_code == 403
    assert client.get(f"{PEOPLE}{roster['zhang'].pk}/", {"unmask": "1"}).status_code == 403
    assert not AuditEvent.objects.filter(action="view_pii").exists()


def test_create(staff, world, client_for):
    response = client_for(staff["yiwu_cadre"]).post(
        PEOPLE,
        {
            "name": "新人",
            "unit": "330782001001",
            "resident_id": NEW_ID,
            "phone": "139 0000 2222",
            "political_status": "共青团员",
            "category": "快递员",
            "is_backbone": True,
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["resident_id"] == NEW_ID[:6] + "********" + NEW_ID[-4:]
    assert body["phone"] == "139****2222"
    assert body["birth_date"] == "2002-10-01" and body["gender"] == "F"
    assert body["political_status"] == "league" and body["category"] == "快递员" and body["is_backbone"]
    person = Person.objects.get(pk=body["id"])
    assert person.reveal_resident_id() == NEW_ID and person.category == Category.objects.get(name="快递员")
    assert AuditEvent.objects.filter(action="create", object_id=str(person.pk)).exists()


def test_create_defaults_to_the_callers_unit(staff, world, client_for):
    response = client_for(staff["yiwu_cadre"]).post(
        PEOPLE, {"name": "无单位", "phone": "13900003333"}, content_type="application/json"
    )
    assert response.status_code == 201 and response.json()["unit"] == "330782"


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"resident_id": ZHANG_ID[:-1] + ("1" if ZHANG_ID[-1] != "1" else "2")}, "resident_id", "校验位错误"),
        ({"resident_id": "12345"}, "resident_id", "身份证号应为18位"),
        ({"resident_id": 3.30782199903051e17}, "resident_id", "科学计数法"),
        ({"phone": "1234"}, "phone", "手机号应为以1开头的11位数字"),
        ({}, "resident_id", "身份证号和手机号至少填写一项"),
        ({"resident_id": NEW_ID, "gender": "男"}, "gender", "与身份证号中的性别不一致"),
        ({"resident_id": NEW_ID, "birth_date": "2002-10-02"}, "birth_date", "与身份证号中的出生日期"),
        ({"phone": "13900002222", "category": "不存在的类别"}, "category", "不在类别表中"),
        ({"phone": "13900002222", "unit": "330783"}, "unit", "330783"),
    ],
)
def test_create_validation_errors(staff, world, client_for, payload, field, message):
    response = client_for(staff["yiwu_cadre"]).post(
        PEOPLE, {"name": "新人", **payload}, content_type="application/json"
    )
    assert response.status_code == 400
    errors = response.json()
    assert field in errors and message in " ".join(errors[field])
    assert not Person.objects.filter(name="新人").exists()


def test_create_refuses_a_registered_id(staff, roster, client_for):
    response = client_for(staff["yiwu_cadre"]).post(
        PEOPLE, {"name": "重复", "resident_id": DONG_ID}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["resident_id"] == ["该身份证号已登记"]


def test_viewer_cannot_write(staff, roster, client_for):
    client = client_for(staff["yiwu_viewer"])
    assert (
        client.post(
            PEOPLE, {"name": "x", "phone": "13900002222"}, content_type="application/json"
        ).status_code
        == 403
    )
    url = f"{PEOPLE}{roster['zhang'].pk}/"
    assert client.patch(url, {"name": "改名"}, content_type="application/json").status_code == 403


def test_update_and_partial_update(staff, roster, client_for):
    client = client_for(staff["yiwu_cadre"])
    url = f"{PEOPLE}{roster['zhang'].pk}/"
    response = client.patch(url, {"phone": "13700009999", "skills": "摄影"}, content_type="application/json")
    assert response.status_code == 200, response.content
    person = Person.objects.get(pk=roster["zhang"].pk)
    assert person.reveal_phone() == "13700009999" and person.skills == "摄影"
    assert person.reveal_resident_id() == ZHANG_ID and person.name == "张三"
    bad = client.patch(url, {"birth_date": "1999-04-05"}, content_type="application/json")
    assert bad.status_code == 400 and "birth_date" in bad.json()
    full = client.put(url, {"name": "张三丰", "unit": "330782"}, content_type="application/json")
    assert full.status_code == 200, full.content
    person.refresh_from_db()
    assert (
        person.name == "张三丰" and person.unit.code == "330782" and person.reveal_resident_id() == ZHANG_ID
    )
    assert client.delete(url).status_code == 405


def test_scope(staff, roster, client_for):
    client = client_for(staff["dongyang_cadre"])
    yiwu = roster["zhang"]
    assert set(results(client.get(PEOPLE))) == {"东阳人"}
    assert results(client.get(PEOPLE, {"q": ZHANG_ID})) == {}
    assert client.get(f"{PEOPLE}{yiwu.pk}/").status_code == 404
    assert (
        client.patch(f"{PEOPLE}{yiwu.pk}/", {"name": "x"}, content_type="application/json").status_code == 404
    )
    assert (
        client.put(f"{PEOPLE}{yiwu.pk}/", {"name": "x"}, content_type="application/json").status_code == 404
    )
    response = client.post(
        PEOPLE, {"name": "越界", "unit": "330782", "phone": "13900002222"}, content_type="application/json"
    )
    assert response.status_code == 400 and not Person.objects.filter(name="越界").exists()


def test_contacts_endpoint_is_read_only_and_scoped(staff, roster, client_for):
    today = timezone.localdate()
    actions.log_contact(
        roster["zhang"],
        cadre=staff["yiwu_cadre"],
        contacted_on=today,
        channel=ContactChannel.VISIT,
        summary="走访",
    )
    actions.log_contact(
        roster["dong"],
        cadre=staff["dongyang_cadre"],
        contacted_on=today,
        channel=ContactChannel.PHONE,
        summary="电话",
    )
    yiwu = client_for(staff["yiwu_viewer"])
    rows = yiwu.get(CONTACTS).json()["results"]
    assert [(r["person_name"], r["summary"], r["cadre"]) for r in rows] == [("张三", "走访", "yiwu_cadre")]
    assert yiwu.get(CONTACTS, {"person": roster["dong"].pk}).json()["results"] == []
    assert len(yiwu.get(CONTACTS, {"person": roster["zhang"].pk}).json()["results"]) == 1
    assert yiwu.post(CONTACTS, {}, content_type="application/json").status_code in (403, 405)
    dong = client_for(staff["dongyang_cadre"])
    assert [r["summary"] for r in dong.get(CONTACTS).json()["results"]] == ["电话"]
    assert dong.get(f"{CONTACTS}{rows[0]['id']}/").status_code == 404


def test_anonymous_is_refused(roster, client):
    assert client.get(PEOPLE).status_code in (401, 403)
