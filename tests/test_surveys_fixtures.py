"""Shared fixtures and builders of the survey tests (imported by the test_surveys_* modules)."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tuanju.surveys import actions
from tuanju.surveys.actions import ChoiceSpec
from tuanju.surveys.models import Mode, OnePer, QuestionKind, Survey


@pytest.fixture(autouse=True)
def _surveys_fresh_cache():
    cache.clear()
    yield
    cache.clear()


def build_survey(unit, actor, *, mode=Mode.ANONYMOUS, one_per=OnePer.DEVICE, publish=True) -> Survey:
    """The seed's online-culture youth survey, abridged: platforms, needs, a skip, a scale, a text."""
    survey = actions.save_survey(
        Survey(),
        data={
            "unit": unit,
            "title": "网络文化青年状况调研",
            "mode": mode,
            "one_per": one_per,
            "ask_profile": True,
        },
        actor=actor,
    )
    platforms = actions.save_question(
        survey,
        None,
        actor=actor,
        kind=QuestionKind.MULTIPLE,
        text="您常用的网络平台有哪些？",
        choices=[ChoiceSpec("微信"), ChoiceSpec("抖音"), ChoiceSpec("快手"), ChoiceSpec("哔哩哔哩")],
    )
    joined = actions.save_question(
        survey,
        None,
        actor=actor,
        kind=QuestionKind.SINGLE,
        text="您是否参加过团组织的活动？",
        choices=[ChoiceSpec("参加过"), ChoiceSpec("没有参加过")],
    )
    which = actions.save_question(
        survey,
        None,
        actor=actor,
        kind=QuestionKind.TEXT,
        text="参加过哪些活动？",
        required=True,
    )
    needs = actions.save_question(
        survey,
        None,
        actor=actor,
        kind=QuestionKind.MULTIPLE,
        text="您最希望团组织提供哪些服务？",
        choices=[
            ChoiceSpec("学习交流", "学习提升"),
            ChoiceSpec("婚恋交友", "婚恋交友"),
            ChoiceSpec("运动健身", "运动健身"),
            ChoiceSpec("权益保障", "权益保障"),
        ],
        max_choices=3,
    )
    scale = actions.save_question(
        survey,
        None,
        actor=actor,
        kind=QuestionKind.SCALE,
        text="对团组织服务的满意度",
        scale_min=1,
        scale_max=5,
    )
    # skip logic: those who never took part skip the “which activities” question
    never = joined.choices.get(text="没有参加过")
    actions.add_rule(joined, actor=actor, target=needs, choice=never)
    if publish:
        actions.publish(survey, actor=actor)
    survey.q = {"platforms": platforms, "joined": joined, "which": which, "needs": needs, "scale": scale}
    return survey


def choice(question, text):
    return question.choices.get(text=text).pk
