"""Publishing (notices and showcases to a unit's subtree, read receipts, the public H5 page) and
the key-city checklist ("六个一")."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from test_insights_support import login, town_cadre  # noqa: F401

from tuanju.audit.models import AuditEvent
from tuanju.hierarchy.models import OrgUnit
from tuanju.insights import actions
from tuanju.insights.models import (
    ChecklistEntry,
    ChecklistTarget,
    ChecklistTemplate,
    EntryStatus,
    Publication,
    PublicationStatus,
    ReadReceipt,
)

pytestmark = pytest.mark.django_db


def publish(user, **data) -> Publication:
    fields = {"kind": "notice", "title": "通知", "summary": "", "body": "正文", "is_public": False, **data}
    publication = actions.save_publication(Publication(unit=user.unit), actor=user, data=fields)
    return actions.publish(publication, actor=user)


def test_a_notice_goes_to_the_subtree_with_read_receipts(world, staff, login, make_user):
    client = login(staff["city_admin"])
    response = client.post(
        "/insights/news/new/", {"kind": "notice", "title": "周台账报送通知", "body": "请按时报送。", "publish": "1"}
    )
    assert response.status_code == 302
    notice = Publication.objects.get()
    assert notice.status == PublicationStatus.PUBLISHED and notice.unit.code == "330700"
    town = town_cadre(make_user, "330782001", "cc_cadre")
    for user in (staff["yiwu_cadre"], staff["dongyang_cadre"], town):
        listed = login(user).get("/insights/news/").context["page_obj"]
        assert [p.title for p in listed] == ["周台账报送通知"] and not listed[0].is_read
        assert login(user).get(f"/insights/news/{notice.pk}/").status_code == 200
    login(staff["yiwu_cadre"]).get(f"/insights/news/{notice.pk}/")  # a second visit is not a second receipt
    assert ReadReceipt.objects.filter(publication=notice).count() == 3
    assert AuditEvent.objects.filter(action="read", object_id=str(notice.pk)).count() == 3
    assert [p.is_read for p in login(town).get("/insights/news/").context["page_obj"]] == [True]
    page = client.get(f"/insights/news/{notice.pk}/")  # the publisher's own staff count as readers too
    receipts = page.context["receipts"]
    assert receipts["read"] == 4 and receipts["staff"] == 6  # city admin, 3 in Yiwu, the town cadre, 1 in Dongyang
    rows = {row["name"]: (row["read"], row["staff"]) for row in receipts["rows"]}
    assert rows["义乌市"] == (2, 4) and rows["东阳市"] == (1, 1) and rows["金华市"] == (1, 1)
    unread = client.get(f"/insights/news/{notice.pk}/unread/").context["page_obj"]
    assert {u.username for u in unread} == {"yiwu_admin", "yiwu_viewer"}
    # receivers cannot see the receipts nor edit
    assert login(staff["yiwu_cadre"]).get(f"/insights/news/{notice.pk}/").context["receipts"] is None
    assert login(staff["yiwu_cadre"]).get(f"/insights/news/{notice.pk}/edit/").status_code == 403
    assert login(staff["yiwu_cadre"]).get(f"/insights/news/{notice.pk}/unread/").status_code == 403


def test_a_county_notice_stays_in_the_county(world, staff, login):
    notice = publish(staff["yiwu_cadre"], title="义乌通知")
    draft = actions.save_publication(
        Publication(unit=staff["yiwu_cadre"].unit),
        actor=staff["yiwu_cadre"],
        data={"kind": "case", "title": "草稿案例", "body": "x", "is_public": True},
    )
    dongyang = login(staff["dongyang_cadre"])
    assert dongyang.get(f"/insights/news/{notice.pk}/").status_code == 404
    assert dongyang.get("/insights/news/").context["page_obj"].paginator.count == 0
    # the city above sees what its counties publish
    assert login(staff["city_admin"]).get(f"/insights/news/{notice.pk}/").status_code == 200
    # a draft is seen by the writers of its own unit only
    assert login(staff["yiwu_admin"]).get(f"/insights/news/{draft.pk}/").status_code == 200
    assert login(staff["yiwu_viewer"]).get(f"/insights/news/{draft.pk}/").status_code == 404
    assert login(staff["dongyang_cadre"]).get(f"/insights/news/{draft.pk}/").status_code == 404
    assert login(staff["yiwu_cadre"]).get(f"/h5/news/{draft.public_key}/").status_code == 404


def test_the_public_page(world, staff, client):
    case = publish(staff["yiwu_cadre"], kind="case", title="小哥加油站", is_public=True)
    hidden = publish(staff["yiwu_cadre"], title="内部通知", is_public=False)
    page = client.get(f"/h5/news/{case.public_key}/")
    assert page.status_code == 200 and "小哥加油站" in page.content.decode()
    assert client.get(f"/h5/news/{hidden.public_key}/").status_code == 404
    listing = client.get("/h5/news/unit/330782001/")  # a town's page shows what its county made public
    assert [p.title for p in listing.context["items"]] == ["小哥加油站"]
    assert client.get("/h5/news/unit/330783/").context["items"].__len__() == 0
    actions.publish(case, actor=staff["yiwu_cadre"], withdraw=True)
    assert client.get(f"/h5/news/{case.public_key}/").status_code == 404


def test_only_writers_publish(world, staff, login):
    viewer = login(staff["yiwu_viewer"])
    assert viewer.get("/insights/news/new/").status_code == 403
    notice = publish(staff["yiwu_cadre"])
    assert viewer.post(f"/insights/news/{notice.pk}/publish/", {"withdraw": "1"}).status_code == 403
    login(staff["yiwu_cadre"]).post(f"/insights/news/{notice.pk}/publish/", {"withdraw": "1"})
    notice.refresh_from_db()
    assert notice.status == PublicationStatus.WITHDRAWN


# --- key-city checklist ---------------------------------------------------------------------------


def test_the_default_checklist_is_six_ones():
    template = ChecklistTemplate.objects.get(name="六个一")
    assert [i.title for i in template.items.all()] == [
        "凝聚一批新兴领域青年",
        "建立一套联系机制",
        "搭建一组工作平台",
        "组建一个梦想导师团",
        "开展一次有影响的活动",
        "形成一支工作力量",
    ]


def test_tracking_units_with_evidence_and_status(world, staff, login, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    template = ChecklistTemplate.objects.get(name="六个一")
    city = login(staff["city_admin"])
    city.post(f"/insights/checklists/{template.pk}/track/", {"codes": "330782\n330783"})
    assert sorted(ChecklistTarget.objects.values_list("unit__code", flat=True)) == ["330782", "330783"]
    assert ChecklistEntry.objects.count() == 12
    entry = ChecklistEntry.objects.get(target__unit__code="330782", item__position=0)
    yiwu = login(staff["yiwu_cadre"])
    refused = yiwu.post(f"/insights/checklists/entries/{entry.pk}/", {"status": "done", "note": ""})
    assert "请填写佐证说明或上传佐证材料" in refused.content.decode()
    evidence = SimpleUploadedFile("花名册.pdf", b"%PDF-1.4 roster", content_type="application/pdf")
    yiwu.post(f"/insights/checklists/entries/{entry.pk}/", {"status": "done", "note": "花名册已建立", "evidence": evidence})
    entry.refresh_from_db()
    assert entry.status == EntryStatus.DONE and entry.evidence_name == "花名册.pdf"
    # the county cannot verify its own item; the city can
    assert yiwu.post(f"/insights/checklists/entries/{entry.pk}/", {"status": "verified", "note": "x"}).status_code == 403
    city.post(f"/insights/checklists/entries/{entry.pk}/", {"status": "verified", "note": "已核实"})
    entry.refresh_from_db()
    assert entry.status == EntryStatus.VERIFIED
    matrix = city.get(f"/insights/checklists/?t={template.pk}")
    rows = {target.unit.code: done for target, _cells, done in matrix.context["rows"]}
    assert rows == {"330782": 1, "330783": 0}
    assert matrix.context["item_totals"][0] == 1
    # scope: Dongyang sees its own row only, and 404 for Yiwu's entry and evidence
    dongyang = login(staff["dongyang_cadre"])
    assert [t.unit.code for t, _c, _d in dongyang.get("/insights/checklists/").context["rows"]] == ["330783"]
    assert dongyang.get(f"/insights/checklists/entries/{entry.pk}/").status_code == 404
    assert dongyang.get(f"/insights/files/checklist/{entry.pk}/").status_code == 404
    assert yiwu.get(f"/insights/files/checklist/{entry.pk}/").status_code == 200
    # Dongyang cannot put Yiwu under its checklist either
    dongyang.post(f"/insights/checklists/{template.pk}/track/", {"codes": "330782001"})
    assert not ChecklistTarget.objects.filter(unit__code="330782001").exists()


def test_configuring_the_checklist(world, staff, login):
    template = ChecklistTemplate.objects.get(name="六个一")
    actions.track_unit(template, OrgUnit.objects.get(code="330782"), actor=staff["city_admin"])
    assert login(staff["yiwu_cadre"]).get(f"/insights/checklists/{template.pk}/items/").status_code == 403
    login(staff["city_admin"]).post(
        f"/insights/checklists/{template.pk}/items/", {"items": "凝聚一批新兴领域青年\n建立一套联系机制\n开展一次调研"}
    )
    assert [i.title for i in template.items.all()] == ["凝聚一批新兴领域青年", "建立一套联系机制", "开展一次调研"]
    assert ChecklistEntry.objects.filter(target__unit__code="330782").count() == 3
