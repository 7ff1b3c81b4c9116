"""Surveys (C11): builder rules, skip logic, the one-answer rule, frequencies and cross-tabulation."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from test_surveys_fixtures import build_survey, choice

from tuanju.people import actions as people_actions
from tuanju.people.models import Category, Person
from tuanju.surveys import actions, results
from tuanju.surveys.actions import ChoiceSpec, Respondent
from tuanju.surveys.models import Answer, Mode, OnePer, QuestionKind, Response, Survey, SurveyStatus

pytest_plugins = ["test_appeals_fixtures", "test_surveys_fixtures"]


def answer(
    survey, *, platforms=("微信",), joined="没有参加过", which="", needs=("学习交流",), scale=4, **respondent
):
    q = survey.q
    raw = {
        q["platforms"].pk: {choice(q["platforms"], p) for p in platforms},
        q["joined"].pk: choice(q["joined"], joined) if joined else None,
        q["which"].pk: which,
        q["needs"].pk: {choice(q["needs"], n) for n in needs},
        q["scale"].pk: scale,
    }
    respondent.setdefault("device", f"dev-{Response.objects.count()}-{len(platforms)}-{joined}-{which}")
    return actions.submit(survey, raw, Respondent(**respondent))


@pytest.mark.django_db
class TestBuilder:
    def test_building_and_publishing(self, world, staff):
        survey = build_survey(world["330782"], staff["yiwu_cadre"])
        assert survey.status == SurveyStatus.PUBLISHED and survey.is_open
        assert [q.position for q in survey.questions.all()] == [0, 1, 2, 3, 4]
        assert survey.q["needs"].choices.get(text="学习交流").tag == "学习提升"

    def test_validation(self, world, staff):
        cadre = staff["yiwu_cadre"]
        survey = build_survey(world["330782"], cadre, publish=False)
        with pytest.raises(actions.SurveyError):
            actions.save_question(
                survey,
                None,
                actor=cadre,
                kind=QuestionKind.SINGLE,
                text="只有一个选项",
                choices=[ChoiceSpec("是")],
            )
        with pytest.raises(actions.SurveyError):
            actions.save_question(
                survey, None, actor=cadre, kind=QuestionKind.SCALE, text="量表", scale_min=5, scale_max=1
            )
        with pytest.raises(actions.SurveyError):  # a jump must go forward
            actions.add_rule(
                survey.q["needs"],
                actor=cadre,
                target=survey.q["joined"],
                choice=survey.q["needs"].choices.first(),
            )
        with pytest.raises(actions.SurveyError):  # the choice must belong to the question
            actions.add_rule(
                survey.q["joined"],
                actor=cadre,
                target=survey.q["scale"],
                choice=survey.q["needs"].choices.first(),
            )
        with pytest.raises(actions.SurveyError):
            actions.save_survey(
                Survey(),
                data={
                    "unit": world["330782"],
                    "title": "x",
                    "mode": Mode.ANONYMOUS,
                    "one_per": OnePer.PERSON,
                },
                actor=cadre,
            )
        with pytest.raises(PermissionDenied):
            actions.save_survey(
                Survey(), data={"unit": world["330782"], "title": "x"}, actor=staff["yiwu_viewer"]
            )
        with pytest.raises(actions.SurveyError):  # a unit outside the author's scope
            actions.save_survey(
                Survey(), data={"unit": world["330782"], "title": "x"}, actor=staff["dongyang_cadre"]
            )

    def test_moving_a_question_drops_rules_turned_backwards(self, world, staff):
        cadre = staff["yiwu_cadre"]
        survey = build_survey(world["330782"], cadre, publish=False)
        assert survey.q["joined"].rules.count() == 1
        actions.move_question(survey.q["needs"], actor=cadre, offset=-3)  # now before "joined"
        assert survey.q["joined"].rules.count() == 0
        assert list(survey.questions.values_list("text", flat=True))[0] == "您最希望团组织提供哪些服务？"

    def test_questions_freeze_once_answered(self, world, staff):
        cadre = staff["yiwu_cadre"]
        survey = build_survey(world["330782"], cadre)
        answer(survey)
        with pytest.raises(actions.SurveyError):
            actions.delete_question(survey.q["scale"], actor=cadre)

    def test_publishing_needs_questions_and_signals(self, world, staff, django_capture_on_commit_callbacks):
        cadre = staff["yiwu_cadre"]
        empty = actions.save_survey(Survey(), data={"unit": world["330782"], "title": "空问卷"}, actor=cadre)
        with pytest.raises(actions.SurveyError):
            actions.publish(empty, actor=cadre)
        received = []

        def listener(sender, survey, actor, links, **kwargs):
            received.append((survey.pk, sorted(links)))

        actions.survey_published.connect(listener)
        try:
            with django_capture_on_commit_callbacks(execute=True):
                survey = build_survey(world["330782"], cadre)
        finally:
            actions.survey_published.disconnect(listener)
        assert received == [(survey.pk, ["link", "qr"])]
        assert actions.directive_link(survey, 42).startswith("/h5/surveys/s/")


@pytest.mark.django_db
class TestAnswering:
    def test_skip_logic(self, world, staff):
        survey = build_survey(world["330782"], staff["yiwu_cadre"])
        structure = actions.Structure.load(survey)
        q = survey.q
        never = {q["joined"].pk: choice(q["joined"], "没有参加过")}
        assert [x.pk for x in structure.path(never)] == [
            q["platforms"].pk,
            q["joined"].pk,
            q["needs"].pk,
            q["scale"].pk,
        ]
        took_part = {q["joined"].pk: choice(q["joined"], "参加过")}
        assert len(structure.path(took_part)) == 5
        # skipped: the required text question is not required, and an answer to it is not kept
        response = answer(survey, joined="没有参加过", which="不应保存")
        assert not Answer.objects.filter(response=response, question=q["which"]).exists()
        # not skipped: now it is required
        with pytest.raises(actions.SurveyError) as exc:
            answer(survey, joined="参加过", which="")
        assert f"q{q['which'].pk}" in exc.value.message_dict
        ok = answer(survey, joined="参加过", which="青年夜校")
        assert Answer.objects.get(response=ok, question=q["which"]).text == "青年夜校"

    def test_rule_that_ends_the_survey_and_scale_rules(self, world, staff):
        cadre = staff["yiwu_cadre"]
        survey = build_survey(world["330782"], cadre, publish=False)
        q = survey.q
        actions.add_rule(
            q["platforms"], actor=cadre, target=None, choice=q["platforms"].choices.get(text="快手")
        )
        actions.add_rule(q["scale"], actor=cadre, target=None, min_value=1, max_value=2)
        structure = actions.Structure.load(survey)
        assert len(structure.path({q["platforms"].pk: {choice(q["platforms"], "快手")}})) == 1
        assert structure.rule_fires(structure.rules[q["scale"].pk][0], 2)
        assert not structure.rule_fires(structure.rules[q["scale"].pk][0], 3)

    def test_answer_validation(self, world, staff):
        survey = build_survey(world["330782"], staff["yiwu_cadre"])
        with pytest.raises(actions.SurveyError) as exc:
            answer(survey, needs=("学习交流", "婚恋交友", "运动健身", "权益保障"))  # at most 3
        assert "最多选择3项" in str(exc.value)
        with pytest.raises(actions.SurveyError):
            answer(survey, scale=9)
        q = survey.q
        bogus = {q["platforms"].pk: {999999}, q["joined"].pk: choice(q["joined"], "参加过")}
        with pytest.raises(actions.SurveyError):
            actions.submit(survey, bogus, Respondent(device="x"))
        with pytest.raises(actions.SurveyError):
            answer(survey, platforms=())  # required

    def test_one_answer_per_device(self, world, staff):
        survey = build_survey(world["330782"], staff["yiwu_cadre"])
        answer(survey, device="phone-1")
        with pytest.raises(actions.AlreadyAnswered):
            answer(survey, device="phone-1")
        answer(survey, device="phone-2")
        assert survey.responses.count() == 2
        survey.refresh_from_db()
        assert survey.response_count == 2

    def test_one_answer_per_person_and_roster_match(self, world, staff):
        cadre = staff["yiwu_cadre"]
        rider = Category.objects.get(name="外卖骑手")
        person = people_actions.save_person(
            Person(),
            data={"unit": world["330782001001"], "name": "王强", "gender": "M", "category": rider},
            resident_id=None,
            phone="13800007777",
            actor=cadre,
        )
        survey = build_survey(world["330782"], cadre, mode=Mode.REAL_NAME, one_per=OnePer.PERSON)
        response = answer(survey, name="王强", phone="13800007777", device="a", gender="F", category_id=None)
        assert response.person == person and response.gender == "M" and response.category == rider
        assert response.unit == world["330782001001"] and response.phone_masked == "138****7777"
        with pytest.raises(actions.AlreadyAnswered):
            answer(survey, name="王强", phone="13800007777", device="another-phone")
        with pytest.raises(actions.SurveyError) as exc:
            answer(survey, name="", phone="", device="c")
        assert {"name", "phone"} <= set(exc.value.message_dict)

    def test_closed_survey_refuses(self, world, staff):
        survey = build_survey(world["330782"], staff["yiwu_cadre"])
        actions.close(survey, actor=staff["yiwu_cadre"])
        with pytest.raises(actions.SurveyError):
            answer(survey)

    def test_profile_unit_outside_the_survey_falls_back(self, world, staff):
        survey = build_survey(world["330782"], staff["yiwu_cadre"])
        response = answer(survey, unit_id=world["330783001"].pk)
        assert response.unit == world["330782"]


@pytest.mark.django_db
class TestResults:
    def test_frequencies_and_percentages(self, world, staff):
        survey = build_survey(world["330782"], staff["yiwu_cadre"])
        for i in range(10):
            platforms = ["微信"] if i < 9 else ["抖音"]
            if i < 6:
                platforms.append("抖音")
            answer(
                survey,
                platforms=platforms,
                needs=("学习交流", "运动健身") if i < 3 else ("婚恋交友",),
                scale=(i % 5) + 1,
            )
        by_question = {r.question.pk: r for r in results.frequencies(survey)}
        platforms = {row.text: (row.count, row.percent) for row in by_question[survey.q["platforms"].pk].rows}
        assert platforms == {"微信": (9, 90.0), "抖音": (7, 70.0), "快手": (0, 0.0), "哔哩哔哩": (0, 0.0)}
        needs = {row.text: row.percent for row in by_question[survey.q["needs"].pk].rows}
        assert needs["学习交流"] == 30.0 and needs["婚恋交友"] == 70.0 and needs["运动健身"] == 30.0
        scale = by_question[survey.q["scale"].pk]
        assert scale.mean == 3.0 and [row.count for row in scale.rows] == [2, 2, 2, 2, 2]
        assert by_question[survey.q["which"].pk].respondents == 0

    def test_crosstab_numbers(self, world, staff):
        survey = build_survey(world["330782"], staff["yiwu_cadre"])
        rider = Category.objects.get(name="外卖骑手")  # 生活新业态青年
        writer = Category.objects.get(name="签约作家")  # 网络文化青年
        town, other_town = world["330782001"], _unit("330782002")
        plan = [
            # (category, unit, gender, age, platforms, joined)
            (rider, town, "M", 22, ["微信", "抖音"], "参加过"),
            (rider, town, "M", 24, ["微信"], "没有参加过"),
            (rider, other_town, "F", 28, ["微信", "快手"], "没有参加过"),
            (writer, town, "F", 31, ["抖音"], "参加过"),
            (writer, other_town, "F", 19, ["微信", "抖音", "哔哩哔哩"], "没有参加过"),
            (None, None, "", None, ["微信"], "没有参加过"),
        ]
        for n, (category, unit, gender, age, platforms, joined) in enumerate(plan):
            answer(
                survey,
                platforms=platforms,
                joined=joined,
                which="青年夜校" if joined == "参加过" else "",
                device=f"d{n}",
                category_id=category.pk if category else None,
                unit_id=unit.pk if unit else None,
                gender=gender,
                age=age,
            )
        q = survey.q["platforms"]
        table = results.crosstab(q, "category")
        rows = {row["label"]: row for row in table.rows}
        columns = [label for _key, label in table.columns]
        assert columns == ["微信", "抖音", "快手", "哔哩哔哩"]
        assert rows["生活新业态青年"]["respondents"] == 3 and rows["生活新业态青年"]["counts"] == [3, 1, 1, 0]
        assert rows["生活新业态青年"]["percents"] == [100.0, 33.3, 33.3, 0.0]
        assert rows["网络文化青年"]["counts"] == [1, 2, 0, 1] and rows["网络文化青年"]["percents"] == [
            50.0,
            100.0,
            0.0,
            50.0,
        ]
        assert rows["未填写"]["counts"] == [1, 0, 0, 0]
        assert table.total["respondents"] == 6 and table.total["counts"] == [5, 3, 1, 1]
        by_unit = results.crosstab(q, "unit", base_unit=world["330782"])
        units = {row["label"]: (row["respondents"], row["counts"]) for row in by_unit.rows}
        assert units == {
            "稠城街道": (3, [2, 2, 0, 0]),
            "江东街道": (2, [2, 1, 1, 1]),
            "义乌市（本级）": (1, [1, 0, 0, 0]),
        }
        by_age = results.crosstab(survey.q["joined"], "age_band")
        assert [row["label"] for row in by_age.rows] == ["16-20岁", "21-25岁", "26-30岁", "31-35岁", "未填写"]
        assert {row["label"]: row["counts"] for row in by_age.rows}["21-25岁"] == [1, 1]
        by_gender = results.crosstab(survey.q["joined"], "gender")
        assert {row["label"]: row["percents"] for row in by_gender.rows}["女"] == [33.3, 66.7]
        cells, totals = results.crosstab_counts(q, ["unit", "category"], base_unit=world["330782"])
        assert cells[(town.path, rider.parent_id, choice(q, "微信"))] == 2
        assert totals[(other_town.path, writer.parent_id)] == 1
        with pytest.raises(ValueError):
            results.crosstab(survey.q["which"], "gender")


def _unit(code):
    from tuanju.hierarchy.models import OrgUnit

    return OrgUnit.objects.get(code=code)


@pytest.mark.django_db
def test_scope_of_surveys_and_responses(world, staff):
    survey = build_survey(world["330782"], staff["yiwu_cadre"])
    answer(survey)
    assert not Survey.objects.visible_to(staff["dongyang_cadre"]).exists()
    assert not Response.objects.visible_to(staff["dongyang_cadre"]).exists()
    assert Survey.objects.visible_to(staff["yiwu_viewer"]).count() == 1
