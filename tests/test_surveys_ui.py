"""Survey pages: the H5 answer page (one answer per device, limits, tokens), the builder, results,
exports (xlsx, PDF), the API, portraits and recommendations, and scope everywhere."""

from __future__ import annotations

import tempfile

import pytest
from django.test import Client
from django.urls import reverse
from python_calamine import CalamineWorkbook
from test_surveys_fixtures import build_survey, choice

from tuanju.appeals import actions as appeal_actions
from tuanju.appeals.models import ServiceType, Station, StationKind
from tuanju.people import actions as people_actions
from tuanju.people.models import Category, Person
from tuanju.surveys import actions, portraits, recommend, tokens
from tuanju.surveys.models import Mode, OnePer, QuestionKind, Response, Survey, SurveyStatus

pytest_plugins = ["test_appeals_fixtures", "test_surveys_fixtures"]


def link(survey, channel="link"):
    return reverse("h5-surveys:answer", args=[tokens.survey_token(survey, channel)])


def post_data(
    survey, *, platforms=("微信", "抖音"), joined="没有参加过", needs=("学习交流",), scale="4", **extra
):
    q = survey.q
    data = {
        f"q{q['platforms'].pk}": [str(choice(q["platforms"], p)) for p in platforms],
        f"q{q['joined'].pk}": str(choice(q["joined"], joined)),
        f"q{q['needs'].pk}": [str(choice(q["needs"], n)) for n in needs],
        f"q{q['scale'].pk}": scale,
        "p-gender": "F",
        "p-age": "24",
    }
    data.update(extra)
    return data


def used(response, template: str) -> bool:
    return template in [t.name for t in response.templates]


def xlsx_rows(response) -> list[list]:
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as fh:
        fh.write(b"".join(response.streaming_content))
        fh.flush()
        book = CalamineWorkbook.from_path(fh.name)
        return book.get_sheet_by_name(book.sheet_names[0]).to_python()


def make_person(unit, name, phone, category="外卖骑手", **data):
    return people_actions.save_person(
        Person(),
        data={"unit": unit, "name": name, "category": Category.objects.get(name=category), **data},
        resident_id=None,
        phone=phone,
        actor=None,
    )


@pytest.mark.django_db
class TestH5:
    def test_answer_on_a_phone_once_per_device(self, world, staff):
        survey = build_survey(world["330782"], staff["yiwu_cadre"])
        phone = Client()
        page = phone.get(link(survey, "qr"))
        assert page.status_code == 200
        body = page.content.decode()
        assert 'name="viewport"' in body and "survey-rules" in body and survey.q["platforms"].text in body
        from django.core import signing

        from tuanju.surveys.h5 import STARTED_SALT

        started = signing.dumps(int(__import__("time").time()) - 45, salt=STARTED_SALT)
        response = phone.post(
            link(survey, "qr"), post_data(survey, started=started, **{"p-area": "330782001"})
        )
        assert response.status_code == 302 and "/h5/surveys/thanks/" in response["Location"]
        saved = Response.objects.get()
        assert saved.channel == "qr" and saved.gender == "F" and saved.age_band == "21-25"
        assert saved.unit == world["330782001"] and 44 <= saved.duration_seconds <= 120
        assert phone.get(response["Location"]).status_code == 200
        again = phone.post(link(survey), post_data(survey))
        assert again.status_code == 200 and used(again, "surveys/h5/already.html")
        assert used(phone.get(link(survey)), "surveys/h5/already.html")
        assert Client().post(link(survey), post_data(survey)).status_code == 302  # another phone
        assert Response.objects.count() == 2

    def test_errors_are_shown_and_nothing_saved(self, world, staff):
        survey = build_survey(world["330782"], staff["yiwu_cadre"])
        data = post_data(survey, joined="参加过")  # the activities question becomes required
        response = Client().post(link(survey), data)
        assert response.status_code == 400 and "此题为必答题" in response.content.decode()
        assert not Response.objects.exists()

    def test_csrf_rate_limit_and_tokens(self, world, staff, settings):
        survey = build_survey(world["330782"], staff["yiwu_cadre"])
        assert Client(enforce_csrf_checks=True).post(link(survey), post_data(survey)).status_code == 403
        settings.TUANJU = {**settings.TUANJU, "H5_RATE_LIMITS": {"survey-submit-ip": "2/10m"}}
        for _ in range(2):
            assert Client().post(link(survey), post_data(survey)).status_code == 302
        refused = Client().post(link(survey), post_data(survey))
        assert refused.status_code == 429 and refused.has_header("Retry-After")
        token = tokens.survey_token(survey)
        assert Client().get(reverse("h5-surveys:answer", args=[token[:-4] + "AAAA"])).status_code == 404
        actions.rotate_links(survey, actor=staff["yiwu_cadre"])
        assert Client().get(reverse("h5-surveys:answer", args=[token])).status_code == 404
        assert Client().get(reverse("h5-surveys:thanks", args=["forged"])).status_code == 404
        assert Client().get(reverse("h5-surveys:inbox", args=["forged"])).status_code == 404

    def test_closed_and_directive_links(self, world, staff):
        survey = build_survey(world["330782"], staff["yiwu_cadre"])
        via = actions.directive_link(survey, 7)
        assert Client().post(via, post_data(survey)).status_code == 302
        assert Response.objects.get().channel == "directive" and Response.objects.get().directive_ref == 7
        actions.close(survey, actor=staff["yiwu_cadre"])
        assert Client().get(link(survey)).status_code == 410

    def test_real_name_answer_recommends(self, world, staff):
        cadre = staff["yiwu_cadre"]
        make_person(world["330782001001"], "王强", "13800007777")
        station = appeal_actions.save_station(
            Station(),
            data={
                "unit": world["330782001"],
                "name": "稠城小哥加油站",
                "kind": StationKind.COURIER,
                "address": "县前街1号",
            },
            services=list(ServiceType.objects.filter(name__in=["学习交流", "休息饮水"])),
            actor=cadre,
        )
        survey = build_survey(world["330782"], cadre, mode=Mode.REAL_NAME, one_per=OnePer.PERSON)
        data = post_data(survey, **{"r-name": "王强", "r-phone": "13800007777"})
        response = Client().post(link(survey), data)
        assert response.status_code == 302
        thanks = Client().get(response["Location"]).content.decode()
        assert station.name in thanks and "学习提升" in thanks
        again = Client().post(link(survey), data)
        assert used(again, "surveys/h5/already.html")


@pytest.mark.django_db
class TestStaff:
    def test_builder_through_the_pages(self, world, staff, staff_client):
        client = staff_client(staff["yiwu_cadre"])
        response = client.post(
            reverse("surveys:create"),
            {
                "unit": "330782",
                "title": "青年需求调查",
                "mode": "anonymous",
                "one_per": "device",
                "ask_profile": "on",
            },
        )
        assert response.status_code == 302
        survey = Survey.objects.get()
        add = reverse("surveys:question-create", args=[survey.pk])
        assert (
            client.post(
                add,
                {
                    "kind": "single",
                    "text": "您是否需要技能培训？",
                    "choices": "需要\n不需要",
                    "required": "on",
                },
            ).status_code
            == 302
        )
        assert (
            client.post(
                add,
                {
                    "kind": "multiple",
                    "text": "希望的服务",
                    "choices": "学习交流 #学习提升\n婚恋交友 #婚恋交友",
                    "max_choices": "2",
                },
            ).status_code
            == 302
        )
        bad = client.post(add, {"kind": "single", "text": "只有一个选项", "choices": "是"})
        assert bad.status_code == 400 and "至少需要两个选项" in bad.content.decode()
        first, second = survey.questions.order_by("position")
        assert [(c.text, c.tag) for c in second.choices.all()] == [
            ("学习交流", "学习提升"),
            ("婚恋交友", "婚恋交友"),
        ]
        client.post(
            reverse("surveys:rule-add", args=[survey.pk, first.pk]),
            {"choice": first.choices.get(text="不需要").pk, "target": "end"},
        )
        assert first.rules.get().target is None
        edit = client.post(
            reverse("surveys:question-edit", args=[survey.pk, first.pk]),
            {
                "kind": "single",
                "text": "是否需要技能培训？",
                "choices": "需要\n不需要\n说不清",
                "required": "on",
            },
        )
        assert edit.status_code == 302 and first.choices.count() == 3 and first.rules.count() == 1
        client.post(reverse("surveys:question-move", args=[survey.pk, second.pk]), {"direction": "up"})
        assert list(survey.questions.values_list("pk", flat=True)) == [second.pk, first.pk]
        assert client.post(reverse("surveys:do-publish", args=[survey.pk])).status_code == 302
        survey.refresh_from_db()
        assert survey.status == SurveyStatus.PUBLISHED
        page = client.get(reverse("surveys:publish", args=[survey.pk]))
        assert page.status_code == 200 and "/h5/surveys/s/" in page.content.decode()
        svg = client.get(reverse("surveys:publish", args=[survey.pk]), {"format": "svg"})
        assert svg["Content-Type"] == "image/svg+xml"
        assert client.get(reverse("surveys:detail", args=[survey.pk])).status_code == 200
        viewer = staff_client(staff["yiwu_viewer"])
        assert viewer.post(add, {"kind": "text", "text": "x"}).status_code == 403
        assert viewer.post(reverse("surveys:close", args=[survey.pk])).status_code == 403

    def test_results_export_and_pdf(self, world, staff, staff_client):
        cadre = staff["yiwu_cadre"]
        survey = build_survey(world["330782"], cadre)
        rider = Category.objects.get(name="外卖骑手")
        for i in range(6):
            data = post_data(
                survey, platforms=("微信",) if i % 2 else ("微信", "抖音"), **{"p-category": str(rider.pk)}
            )
            assert Client().post(link(survey), data).status_code == 302
        client = staff_client(cadre)
        page = client.get(
            reverse("surveys:results", args=[survey.pk]),
            {"by": "category", "question": survey.q["platforms"].pk},
        )
        assert page.status_code == 200
        table = page.context["table"]
        assert [(row["label"], row["respondents"], row["percents"][:2]) for row in table.rows] == [
            ("生活新业态青年", 6, [100.0, 50.0])
        ]
        for by in ("occupation", "age_band", "gender", "unit"):
            assert client.get(reverse("surveys:results", args=[survey.pk]), {"by": by}).status_code == 200
        rows = xlsx_rows(client.get(reverse("surveys:export", args=[survey.pk])))
        assert len(rows) == 7 and rows[0][7].startswith("1.") and rows[1][6] == "外卖骑手"
        assert {row[7] for row in rows[1:]} == {"微信", "微信；抖音"}
        pdf = client.get(reverse("surveys:report", args=[survey.pk]), {"by": "category"})
        assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
        assert len(pdf.content) > 5000
        responses = client.get(reverse("surveys:responses", args=[survey.pk]))
        assert responses.context["page_obj"].paginator.count == 6
        victim = Response.objects.first()
        client.post(reverse("surveys:response-delete", args=[survey.pk, victim.pk]))
        survey.refresh_from_db()
        assert survey.response_count == 5

    def test_pdf_report_content(self, world, staff):
        from tuanju.surveys import report, svgchart

        survey = build_survey(world["330782"], staff["yiwu_cadre"])
        actions.submit(
            survey,
            {
                survey.q["platforms"].pk: {choice(survey.q["platforms"], "微信")},
                survey.q["joined"].pk: choice(survey.q["joined"], "没有参加过"),
                survey.q["needs"].pk: {choice(survey.q["needs"], "运动健身")},
                survey.q["scale"].pk: 5,
            },
            actions.Respondent(device="x"),
        )
        context = report.report_context(survey, survey.responses.all())
        assert "<svg" in context["sections"][0]["chart"] and "100.0%" in context["sections"][0]["chart"]
        svg = svgchart.bars([("<script>", 50.0, 1)])
        assert "<script>" not in svg and "&lt;script&gt;" in svg
        pdf = report.render_pdf(survey, survey.responses.all(), actor=staff["yiwu_cadre"])
        assert pdf.startswith(b"%PDF-")


@pytest.mark.django_db
class TestScope:
    def test_dongyang_cadre_sees_nothing_of_yiwu(self, world, staff, staff_client):
        survey = build_survey(world["330782"], staff["yiwu_cadre"])
        Client().post(link(survey), post_data(survey))
        person = make_person(world["330782001001"], "李娜", "13800006666")
        client = staff_client(staff["dongyang_cadre"])
        for name in ("detail", "results", "export", "report", "publish", "responses", "edit"):
            assert client.get(reverse(f"surveys:{name}", args=[survey.pk])).status_code == 404, name
        for name in ("do-publish", "close", "rotate"):
            assert client.post(reverse(f"surveys:{name}", args=[survey.pk])).status_code == 404, name
        assert client.get(reverse("surveys:list")).context["page_obj"].paginator.count == 0
        assert client.get(reverse("surveys:person-portrait", args=[person.pk])).status_code == 404
        assert (
            client.get(reverse("surveys:group-portrait"), {"unit": "330782"}).context["unit"].code == "330783"
        )
        api = client.get("/api/v1/surveys/").json()
        assert api["count"] == 0
        for suffix in ("", "results/", f"crosstab/?question={survey.q['platforms'].pk}"):
            assert client.get(f"/api/v1/surveys/{survey.pk}/{suffix}").status_code == 404, suffix
        assert client.get(f"/api/v1/portraits/{person.pk}/").status_code == 404

    def test_api_for_yiwu(self, world, staff, staff_client):
        survey = build_survey(world["330782"], staff["yiwu_cadre"])
        for _ in range(4):
            Client().post(link(survey), post_data(survey))
        Client().post(link(survey), post_data(survey, platforms=("抖音",)))
        client = staff_client(staff["yiwu_viewer"])
        data = client.get(f"/api/v1/surveys/{survey.pk}/results/").json()
        platforms = next(q for q in data["questions"] if q["question"] == survey.q["platforms"].pk)
        assert platforms["respondents"] == 5
        assert {r["text"]: r["percent"] for r in platforms["rows"]}["微信"] == 80.0
        crosstab = client.get(
            f"/api/v1/surveys/{survey.pk}/crosstab/", {"question": survey.q["platforms"].pk, "by": "gender"}
        ).json()
        assert crosstab["rows"][0]["label"] == "女" and crosstab["rows"][0]["percents"][0] == 80.0
        assert (
            client.get(
                f"/api/v1/surveys/{survey.pk}/crosstab/", {"question": survey.q["which"].pk}
            ).status_code
            == 400
        )
        assert (
            client.get(
                f"/api/v1/surveys/{survey.pk}/crosstab/", {"question": survey.q["platforms"].pk, "by": "nope"}
            ).status_code
            == 400
        )
        assert len(client.get(f"/api/v1/surveys/{survey.pk}/").json()["questions"]) == 5


@pytest.mark.django_db
class TestPortraits:
    def test_person_tags_come_with_sources_and_reasons(
        self, world, staff, django_capture_on_commit_callbacks
    ):
        cadre = staff["yiwu_cadre"]
        person = make_person(
            world["330782001001"],
            "赵敏",
            "13800005555",
            political_status="league",
            is_backbone=True,
            employer="美团",
            interests="篮球、摄影",
            birth_date=__import__("datetime").date(1998, 5, 1),
        )
        survey = build_survey(world["330782"], cadre, mode=Mode.REAL_NAME, one_per=OnePer.PERSON)
        q = survey.q
        actions.submit(
            survey,
            {
                q["platforms"].pk: {choice(q["platforms"], "抖音")},
                q["joined"].pk: choice(q["joined"], "没有参加过"),
                q["needs"].pk: {choice(q["needs"], "婚恋交友")},
                q["scale"].pk: 3,
            },
            actions.Respondent(name="赵敏", phone="13800005555", device="z"),
        )
        appeal = appeal_actions.file_appeal(
            appeal_actions.NewAppeal(
                unit=world["330782001"],
                category=__import__(
                    "tuanju.appeals.models", fromlist=["AppealCategory"]
                ).AppealCategory.objects.get(name="心理健康"),
                content="工作压力大想找人聊聊",
                phone="13800005555",
            )
        )
        assert appeal.person == person
        tags = {t.name: t for t in portraits.person_tags(person)}
        assert tags["外卖骑手"].source == "roster" and tags["生活新业态青年"].group == "basic"
        assert tags["95后"].reason == "1998年出生"
        assert tags["共青团员"].source == "roster" and tags["骨干青年"].group == "role"
        assert tags["平台：美团"].group == "platform"
        assert tags["运动健身"].source == "roster" and "篮球" in tags["运动健身"].reason
        assert tags["文艺爱好"].source == "roster"
        assert tags["婚恋交友"].source == "survey" and "网络文化青年状况调研" in tags["婚恋交友"].reason
        assert tags["心理健康"].source == "appeal"

    def test_group_portrait_counts(self, world, staff):
        unit = world["330782001001"]
        make_person(unit, "甲一", "13800000001", interests="健身")
        make_person(unit, "乙二", "13800000002", is_backbone=True)
        make_person(unit, "丙三", "13800000003", category="签约作家", interests="读书学习")
        people = Person.objects.in_subtree(world["330782"])
        total, tags = portraits.group_portrait(people)
        counts = {t.name: (t.count, t.percent) for t in tags}
        assert total == 3
        assert counts["外卖骑手"] == (2, 66.7) and counts["生活新业态青年"] == (2, 66.7)
        assert counts["签约作家"] == (1, 33.3) and counts["网络文化青年"] == (1, 33.3)
        assert (
            counts["骨干青年"] == (1, 33.3)
            and counts["运动健身"] == (1, 33.3)
            and counts["学习提升"] == (1, 33.3)
        )
        riders = portraits.group_people(world["330782"], Category.objects.get(name="生活新业态青年"))
        assert riders.count() == 2

    def test_respondent_needs_of_a_group(self, world, staff):
        survey = build_survey(world["330782"], staff["yiwu_cadre"])
        rider = Category.objects.get(name="外卖骑手")
        for needs in [("学习交流",), ("学习交流", "运动健身"), ("婚恋交友",), ("运动健身",)]:
            Client().post(
                link(survey),
                post_data(survey, needs=needs, **{"p-category": str(rider.pk), "p-area": "330782001"}),
            )
        Client().post(link(survey), post_data(survey, needs=("婚恋交友",)))  # no category: not in the group
        needs = {n["tag"]: n["percent"] for n in portraits.respondent_needs(world["330782001"], rider.parent)}
        assert needs == {"学习提升": 50.0, "运动健身": 50.0, "婚恋交友": 25.0}

    def test_recommendations_explain_themselves(self, world, staff, staff_client):
        cadre = staff["yiwu_cadre"]
        person = make_person(world["330782001001"], "钱七", "13800004444", needs="想学习考证")
        courier = appeal_actions.save_station(
            Station(),
            data={
                "unit": world["330782001001"],
                "name": "华新暖心驿站",
                "kind": StationKind.WARM,
                "address": "华新路1号",
            },
            services=list(ServiceType.objects.filter(name="学习交流")),
            actor=cadre,
        )
        appeal_actions.save_station(
            Station(),
            data={
                "unit": world["330783001"],
                "name": "东阳驿站",
                "kind": StationKind.WARM,
                "address": "东阳",
            },
            services=list(ServiceType.objects.filter(name="学习交流")),
            actor=staff["dongyang_cadre"],
        )
        recs = recommend.recommend(person)
        assert [r.title for r in recs] == [courier.name]  # another county's station is not offered
        reasons = " ".join(recs[0].reasons)
        assert "学习交流" in reasons and "外卖骑手" in reasons and "村社区" in reasons
        assert recs[0].score == 2 + 2 + 2
        page = staff_client(cadre).get(reverse("surveys:person-portrait", args=[person.pk]))
        assert page.status_code == 200 and courier.name in page.content.decode()
        inbox = Client().get(reverse("h5-surveys:inbox", args=[tokens.person_token(person)]))
        assert inbox.status_code == 200 and courier.name in inbox.content.decode()
        api = staff_client(cadre).get(f"/api/v1/portraits/{person.pk}/").json()
        assert api["recommendations"][0]["title"] == courier.name and any(
            t["name"] == "学习提升" for t in api["tags"]
        )

    def test_communities_are_recommended_when_the_app_exists(self, world, staff, staff_client):
        from django.apps import apps

        try:
            community_model = apps.get_model("groups", "Community")
            category_model = apps.get_model("groups", "CommunityCategory")
        except LookupError:
            pytest.skip("the communities app is not installed")
        person = make_person(world["330782001001"], "孙悦", "13800003333", interests="相亲交友")
        dating = community_model.objects.create(
            unit=world["330782001"],
            name="稠城青年联谊社",
            category=category_model.objects.get(name="婚恋交友"),
        )
        community_model.objects.create(
            unit=world["330782001"], name="稠城读书会", category=category_model.objects.get(name="学习提升")
        )
        recs = [r for r in recommend.recommend(person) if r.kind == "community"]
        assert [r.title for r in recs] == [dating.name]
        assert any("婚恋交友" in reason for reason in recs[0].reasons)
        audience = recommend.community_audience(dating, Person.objects.all())
        assert [p.name for p, _reasons in audience] == ["孙悦"]
        page = staff_client(staff["yiwu_cadre"]).get(reverse("surveys:community-audience", args=[dating.pk]))
        assert page.status_code == 200 and "孙悦" in page.content.decode()
        group = staff_client(staff["yiwu_cadre"]).get(reverse("surveys:group-portrait"), {"unit": "330782"})
        assert group.status_code == 200

    def test_pluggable_source(self, world, staff):
        person = make_person(world["330782001001"], "周杰", "13800002222", interests="志愿服务")

        class ActivitySource:
            name = "test-activities"
            label = "活动"

            def candidates(self, person, tags):
                rec = recommend.Recommendation("activity", 1, "周末护河志愿活动")
                if any(t.name == "志愿服务" for t in tags):
                    rec.add(4, "你关注志愿服务", interest=True)
                return [rec] if rec.matched else []

        recommend.register_source(ActivitySource())
        try:
            assert [r.title for r in recommend.recommend(person)] == ["周末护河志愿活动"]
        finally:
            recommend.SOURCES[:] = [s for s in recommend.SOURCES if s.name != "test-activities"]


def test_question_kinds_are_known():
    assert set(QuestionKind.values) == {"single", "multiple", "scale", "text"}
