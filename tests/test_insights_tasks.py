"""Tasks down the hierarchy (任务下达、定期督导、及时反馈): sending to all or chosen units with
attachments, the receiving units' progress, figures, evidence and done, the sender's progress table
with overdue units and summed figures, threaded supervision and feedback, reminders, scope."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from test_insights_support import login, town_cadre  # noqa: F401

from tuanju.audit.models import AuditEvent
from tuanju.hierarchy.models import OrgUnit
from tuanju.insights import actions
from tuanju.insights.models import (
    AssignmentStatus,
    CommentKind,
    Task,
    TaskAssignment,
    TaskComment,
    TaskReminder,
)

pytestmark = pytest.mark.django_db


def deadline(days: int = 5) -> str:
    return (timezone.localtime() + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


def pdf(name: str = "通知.pdf", size: int = 2000) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4\n" + b"0" * size, content_type="application/pdf")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def send(client, **extra):
    data = {
        "title": "摸底走访快递网点",
        "description": "请组织走访并报送数字。",
        "deadline": deadline(),
        "mode": "children",
        "required_figures": "走访网点数|个\n新联系青年|人",
        "remind_days": "2",
    }
    data.update(extra)
    return client.post("/insights/tasks/new/", data)


def test_the_city_sends_a_task_to_all_its_counties(world, staff, login, media):
    client = login(staff["city_admin"])
    assert client.get("/insights/tasks/new/").status_code == 200
    response = send(client, files=[pdf()])
    assert response.status_code == 302
    task = Task.objects.get()
    assert task.unit.code == "330700"
    assert task.required_figures == [
        {"key": "f1", "label": "走访网点数", "unit": "个"},
        {"key": "f2", "label": "新联系青年", "unit": "人"},
    ]
    codes = set(task.assignments.values_list("unit__code", flat=True))
    assert len(codes) == 9 and {"330782", "330783"} <= codes
    assert task.attachments.get().name == "通知.pdf"
    assert AuditEvent.objects.filter(action="create", object_type="insights.task").exists()


def test_chosen_units_and_units_further_below(world, staff, login, media):
    client = login(staff["yiwu_cadre"])
    response = send(client, mode="chosen", children=["330782002"], codes="330782001001")
    assert response.status_code == 302
    task = Task.objects.get()
    assert sorted(task.assignments.values_list("unit__code", flat=True)) == ["330782001001", "330782002"]
    # a unit outside the sender's subtree is refused, with a Chinese reason
    refused = send(client, mode="chosen", codes="330783001")
    assert refused.status_code == 200 and "不在本单位之下" in refused.content.decode()
    unknown = send(client, mode="chosen", codes="999")
    assert "找不到单位编码" in unknown.content.decode()
    # a level below: every town
    send(client, mode="level", level="town", title="按层级")
    assert sorted(Task.objects.get(title="按层级").assignments.values_list("unit__code", flat=True)) == [
        "330782001",
        "330782002",
    ]
    # the lagging village can be preselected from the ranking or the dashboard
    page = client.get("/insights/tasks/new/?to=330782001001")
    assert page.context["form"].initial["codes"] == "330782001001"
    past = send(client, deadline=(timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"), title="过期")
    assert "截止时间必须晚于现在" in past.content.decode()


def test_attachment_limits(world, staff, login, media, settings):
    client = login(staff["yiwu_cadre"])
    exe = SimpleUploadedFile("tool.exe", b"MZ" + b"0" * 100)
    assert "类型不允许上传" in send(client, files=[exe]).content.decode()
    fake = SimpleUploadedFile("报告.pdf", b"MZ not a pdf")
    assert "内容与扩展名不符" in send(client, files=[fake]).content.decode()
    settings.TUANJU = {**settings.TUANJU, "INSIGHTS_MAX_UPLOAD_MB": 1}
    big = pdf(size=1024 * 1024 + 10)
    assert "超过 1 MB" in send(client, files=[big]).content.decode()
    assert not Task.objects.exists()
    assert send(client, files=[pdf(), SimpleUploadedFile("表.xlsx", b"PK\x03\x04" + b"0" * 50)]).status_code == 302
    assert Task.objects.get().attachments.count() == 2


def test_a_viewer_cannot_send(world, staff, login):
    client = login(staff["yiwu_viewer"])
    assert client.get("/insights/tasks/new/").status_code == 403
    assert send(client).status_code == 403


@pytest.fixture
def task(world, staff, media):
    city = OrgUnit.objects.get(code="330700")
    return actions.create_task(
        actor=staff["city_admin"],
        sender=city,
        title="摸底走访",
        description="走访",
        deadline=timezone.now() + timedelta(days=3),
        recipients=[OrgUnit.objects.get(code="330782"), OrgUnit.objects.get(code="330783")],
        required_figures=[{"key": "f1", "label": "走访网点数", "unit": "个"}],
        files=[pdf()],
    )


def assignment(task, code: str) -> TaskAssignment:
    return task.assignments.get(unit__code=code)


def test_receiving_units_report_and_mark_done(task, staff, login):
    yiwu = assignment(task, "330782")
    client = login(staff["yiwu_cadre"])
    # the Yiwu cadre lands on his unit's thread, which marks it read
    response = client.get(f"/insights/tasks/{task.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/insights/tasks/{task.pk}/units/{yiwu.pk}/"
    client.get(response["Location"])
    yiwu.refresh_from_db()
    assert yiwu.read_at is not None
    # marking done without the required figure is refused
    refused = client.post(
        f"/insights/tasks/{task.pk}/units/{yiwu.pk}/report/", {"progress": "100", "done": "on"}, follow=True
    )
    assert "标记完成前请填报：走访网点数" in refused.content.decode()
    client.post(
        f"/insights/tasks/{task.pk}/units/{yiwu.pk}/report/",
        {"progress": "40", "fig_f1": "12", "note": "主城区完成", "files": [pdf("照片.pdf")]},
    )
    yiwu.refresh_from_db()
    assert (yiwu.status, yiwu.progress, yiwu.figures) == (AssignmentStatus.IN_PROGRESS, 40, {"f1": 12})
    assert yiwu.evidence.get().name == "照片.pdf"
    client.post(f"/insights/tasks/{task.pk}/units/{yiwu.pk}/report/", {"progress": "50", "fig_f1": "30", "done": "on"})
    yiwu.refresh_from_db()
    assert yiwu.status == AssignmentStatus.DONE and yiwu.progress == 100 and yiwu.figures == {"f1": 30}
    assert yiwu.reports.count() == 2
    # the sender cannot report for a unit
    city = login(staff["city_admin"])
    assert city.post(f"/insights/tasks/{task.pk}/units/{yiwu.pk}/report/", {"progress": "10"}).status_code == 403


def test_the_sender_sees_progress_overdue_and_totals(task, staff, login):
    actions.report_progress(assignment(task, "330782"), actor=staff["yiwu_cadre"], progress=100, figures={"f1": 7}, note="", done=True)
    actions.report_progress(assignment(task, "330783"), actor=staff["dongyang_cadre"], progress=30, figures={"f1": 5}, note="")
    client = login(staff["city_admin"])
    page = client.get(f"/insights/tasks/{task.pk}/")
    assert page.status_code == 200
    assert page.context["counts"]["done"] == 1 and page.context["counts"]["total"] == 2
    assert page.context["totals"] == [12]
    assert page.context["counts"]["overdue"] == 0
    Task.objects.filter(pk=task.pk).update(deadline=timezone.now() - timedelta(hours=1))
    page = client.get(f"/insights/tasks/{task.pk}/?state=overdue")
    rows = page.context["rows"]
    assert [a.unit.code for a, _values in rows] == ["330783"]
    assert page.context["counts"]["overdue"] == 1
    export = client.get(f"/insights/tasks/{task.pk}/export/")
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_filelike(io.BytesIO(export.content)).get_sheet_by_name("进度").to_python()
    table = {row[0]: row for row in rows[3:] if row[0]}
    assert table["330782"][2] == "已完成" and table["330783"][6] == "是"
    assert rows[-1][1] == "合计" and rows[-1][7] == 12


def test_supervision_and_feedback_threads(task, staff, login):
    yiwu = assignment(task, "330782")
    city = login(staff["city_admin"])
    city.post(f"/insights/tasks/{task.pk}/units/{yiwu.pk}/comment/", {"body": "请加快进度"})
    login(staff["yiwu_cadre"]).post(f"/insights/tasks/{task.pk}/units/{yiwu.pk}/comment/", {"body": "本周完成"})
    kinds = list(TaskComment.objects.filter(assignment=yiwu).values_list("kind", "body"))
    assert kinds == [(CommentKind.SUPERVISION, "请加快进度"), (CommentKind.FEEDBACK, "本周完成")]
    assert not TaskComment.objects.filter(assignment=assignment(task, "330783")).exists()
    page = city.get(f"/insights/tasks/{task.pk}/units/{yiwu.pk}/")
    assert [kind for kind, _at, _item in page.context["timeline"]] == ["comment", "comment"]
    # the sender sends a "done" back
    actions.report_progress(yiwu, actor=staff["yiwu_cadre"], progress=100, figures={"f1": 3}, note="", done=True)
    city.post(f"/insights/tasks/{task.pk}/units/{yiwu.pk}/reopen/", {"reason": "缺少照片"})
    yiwu.refresh_from_db()
    assert yiwu.status == AssignmentStatus.IN_PROGRESS
    assert TaskComment.objects.filter(assignment=yiwu, body__contains="缺少照片", kind=CommentKind.SUPERVISION).exists()


def test_task_scope(task, staff, login, make_user):
    yiwu, dongyang = assignment(task, "330782"), assignment(task, "330783")
    client = login(staff["dongyang_cadre"])
    assert client.get(f"/insights/tasks/{task.pk}/units/{yiwu.pk}/").status_code == 404
    assert client.post(f"/insights/tasks/{task.pk}/units/{yiwu.pk}/comment/", {"body": "x"}).status_code == 404
    evidence = actions.report_progress(
        yiwu, actor=staff["yiwu_cadre"], progress=10, figures={}, note="", files=[pdf("证明.pdf")]
    ).evidence.get()
    assert client.get(f"/insights/files/evidence/{evidence.pk}/").status_code == 404
    assert login(staff["city_admin"]).get(f"/insights/files/evidence/{evidence.pk}/").status_code == 200
    # the API shows the Dongyang cadre the task with his assignment only
    body = client.get("/api/v1/tasks/").json()["results"]
    assert [t["id"] for t in body] == [task.pk]
    assert [a["unit_code"] for a in body[0]["assignments"]] == ["330783"]
    assert login(staff["city_admin"]).get(f"/api/v1/tasks/{task.pk}/").json()["assignments"].__len__() == 2
    # a task among Yiwu's own units is invisible to Dongyang: 404 for the task and its files
    own = actions.create_task(
        actor=staff["yiwu_cadre"],
        sender=OrgUnit.objects.get(code="330782"),
        title="义乌内部",
        description="",
        deadline=timezone.now() + timedelta(days=1),
        recipients=[OrgUnit.objects.get(code="330782001")],
        required_figures=[],
        files=[pdf()],
    )
    assert client.get(f"/insights/tasks/{own.pk}/").status_code == 404
    assert client.get(f"/insights/files/attachment/{own.attachments.get().pk}/").status_code == 404
    assert client.get(f"/api/v1/tasks/{own.pk}/").status_code == 404
    assert client.get(f"/insights/tasks/{own.pk}/export/").status_code == 404
    assert login(staff["yiwu_viewer"]).get(f"/insights/files/attachment/{own.attachments.get().pk}/").status_code == 200
    # the town's own cadre sees it from below, but not the city's task to the county above him
    town = town_cadre(make_user, "330782001", "cc_cadre")
    received = login(town).get("/insights/tasks/?tab=received").context["page_obj"]
    assert [t.title for t in received] == ["义乌内部"]
    assert login(town).get(f"/insights/tasks/{task.pk}/").status_code == 404
    assert dongyang.unit.code == "330783"


def test_reminders_once_a_day(task, staff, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    staff["yiwu_cadre"].email = "yiwu@example.cn"
    staff["yiwu_cadre"].save()
    now = timezone.now()
    assert actions.send_task_reminders(now) == {"due_soon": 0, "overdue": 0, "emails": 0}
    Task.objects.filter(pk=task.pk).update(deadline=now + timedelta(days=1))
    first = actions.send_task_reminders(now)
    assert first["due_soon"] == 2 and first["emails"] == 1
    assert "任务提醒" in mail.outbox[0].subject
    assert actions.send_task_reminders(now)["due_soon"] == 0  # once
    Task.objects.filter(pk=task.pk).update(deadline=now - timedelta(hours=1))
    assert actions.send_task_reminders(now)["overdue"] == 2
    assert actions.send_task_reminders(now)["overdue"] == 0  # once a day
    assert actions.send_task_reminders(now + timedelta(days=1))["overdue"] == 2
    actions.report_progress(assignment(task, "330782"), actor=staff["yiwu_cadre"], progress=100, figures={"f1": 1}, note="", done=True)
    assert actions.send_task_reminders(now + timedelta(days=2))["overdue"] == 1
    assert TaskReminder.objects.count() == 2 + 2 + 2 + 1


def test_closing_a_task(task, staff, login):
    client = login(staff["yiwu_cadre"])
    assert client.post(f"/insights/tasks/{task.pk}/close/").status_code == 403
    login(staff["city_admin"]).post(f"/insights/tasks/{task.pk}/close/")
    task.refresh_from_db()
    assert task.status == "closed"
    response = client.post(
        f"/insights/tasks/{task.pk}/units/{assignment(task, '330782').pk}/report/", {"progress": "10"}, follow=True
    )
    assert "任务已关闭" in response.content.decode()


def test_task_lists_and_desk(task, staff, login):
    city = login(staff["city_admin"])
    sent = city.get("/insights/tasks/?tab=sent").context["page_obj"]
    assert [(t.title, t.recipients, t.done) for t in sent] == [("摸底走访", 2, 0)]
    desk = login(staff["yiwu_cadre"]).get("/insights/work/")
    assert [a.task.title for a in desk.context["received"]] == ["摸底走访"]
    assert city.get("/insights/work/").context["sent"][0].total == 2
