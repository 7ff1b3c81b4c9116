"""Benchmark: cross-tabulate 1,000,000 survey answers by unit and category, on SQLite and PostgreSQL.

    .venv/bin/python bench/survey.py [--answers 1000000] [--db sqlite,postgresql] [--repeat 3]

For each database, in fresh processes:

* load: a county with 20 towns and 200 villages, one survey with a single-choice question
  (6 options), and ``--answers`` respondents each with one answer — minimal rows written straight
  through ``tuanju.core.bulk.insert_rows`` (PostgreSQL COPY, SQLite executemany), respondents
  spread over the villages and the roster's occupations;
* crosstab: ``tuanju.surveys.results.crosstab_counts(question, ["unit", "category"], base_unit=county)``
  — the answers per (town, category group, option) and the respondents per (town, category group),
  which is what the results page, the API and the PDF report run — best of ``--repeat``;
* baseline: the same counts as one hand-written ``GROUP BY`` in SQL, best of ``--repeat``.

Prints both times, the ratio (crosstab / baseline) and checks that both give the same numbers.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

HERE = Path(__file__).resolve()
OPTIONS = ["运动健身", "学习交流", "婚恋交友", "职业技能培训", "劳动权益保障", "心理疏导"]


def step_load(args) -> dict:
    _common.django_setup()
    _common.migrate()
    from django.db import connection, transaction

    from tuanju.core.bulk import insert_rows
    from tuanju.hierarchy import actions as hierarchy
    from tuanju.hierarchy.actions import NewUnit
    from tuanju.hierarchy.models import Level, OrgUnit
    from tuanju.people.models import Category
    from tuanju.surveys.models import Answer, Choice, Question, QuestionKind, Response, Survey

    result: dict = {}
    rng = random.Random(11)
    hierarchy.load_divisions(["33"])
    county = OrgUnit.objects.get(code="330782")
    towns = [
        NewUnit(
            f"330782{t:03d}",
            f"第{t}街道",
            Level.TOWN,
            children=[
                NewUnit(f"330782{t:03d}{v:03d}", f"第{t}街道第{v}社区", Level.TIER1) for v in range(1, 11)
            ],
        )
        for t in range(1, 21)
    ]
    with transaction.atomic():
        hierarchy.bulk_insert(county, towns)
    villages = list(
        OrgUnit.objects.filter(path__startswith=county.path, level=Level.TIER1).values_list("pk", flat=True)
    )
    categories = list(Category.objects.filter(parent__isnull=False).values_list("pk", flat=True))
    survey = Survey.objects.create(unit=county, title="基准调研", status="published")
    question = Question.objects.create(
        survey=survey, position=0, kind=QuestionKind.SINGLE, text="您最希望团组织提供哪些服务？"
    )
    choices = [Choice.objects.create(question=question, position=i, text=t).pk for i, t in enumerate(OPTIONS)]
    weights = [41.2, 32.8, 29.6, 27.5, 22.1, 12.4]
    start = datetime(2026, 9, 1, tzinfo=UTC)
    n = args.answers
    first = (Response.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    with _common.timer(result, "load_s"):
        batch = 200_000
        for offset in range(0, n, batch):
            count = min(batch, n - offset)
            ids = range(first + offset, first + offset + count)
            responses = [
                (
                    pk,
                    survey.pk,
                    f"b{pk}",
                    "qr",
                    "",
                    "",
                    rng.choice(villages),
                    "M" if rng.random() < 0.58 else "F",
                    "21-25",
                    rng.choice(categories) if rng.random() < 0.95 else None,
                    start + timedelta(seconds=pk),
                )
                for pk in ids
            ]
            answers = [(pk, question.pk, rng.choices(choices, weights)[0], None, "") for pk in ids]
            with transaction.atomic():
                insert_rows(
                    Response._meta.db_table,
                    [
                        "id",
                        "survey_id",
                        "respondent_key",
                        "channel",
                        "name",
                        "phone_masked",
                        "unit_id",
                        "gender",
                        "age_band",
                        "category_id",
                        "submitted_at",
                    ],
                    responses,
                )
                insert_rows(
                    Answer._meta.db_table,
                    ["response_id", "question_id", "choice_id", "value", "text"],
                    answers,
                )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    result.update({"answers": n, "question": question.pk, "peak_mb": _common.peak_rss_mb()})
    return result


BASELINE_SQL = """
SELECT substr(u.path, 1, %s) AS town, COALESCE(c.parent_id, r.category_id) AS grp, a.choice_id, COUNT(*)
FROM surveys_answer a
JOIN surveys_response r ON r.id = a.response_id
JOIN hierarchy_orgunit u ON u.id = r.unit_id
LEFT JOIN people_category c ON c.id = r.category_id
WHERE a.question_id = %s AND u.path LIKE %s
GROUP BY 1, 2, 3
"""


def step_measure(args) -> dict:
    _common.django_setup()
    from django.db import connection

    from tuanju.hierarchy.models import OrgUnit
    from tuanju.surveys import results
    from tuanju.surveys.models import Question

    county = OrgUnit.objects.get(code="330782")
    question = Question.objects.get(pk=args.question)
    width = len(county.path) + county.steplen
    best = {"crosstab_s": float("inf"), "baseline_s": float("inf")}
    cells = baseline = None
    for _ in range(args.repeat):
        started = time.perf_counter()
        cells, totals = results.crosstab_counts(question, ["unit", "category"], base_unit=county)
        best["crosstab_s"] = min(best["crosstab_s"], time.perf_counter() - started)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(BASELINE_SQL, [width, question.pk, county.path + "%"])
            baseline = {(town, group, choice): n for town, group, choice, n in cursor.fetchall()}
        best["baseline_s"] = min(best["baseline_s"], time.perf_counter() - started)
    same = {k: v for k, v in cells.items() if len(k[0]) == width} == {
        k: v for k, v in baseline.items() if len(k[0]) == width
    }
    return {
        **best,
        "cells": len(cells),
        "answers": sum(cells.values()),
        "respondents": sum(totals.values()),
        "same": same,
        "peak_mb": _common.peak_rss_mb(),
    }


STEPS = {"load": step_load, "measure": step_measure}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--step", choices=sorted(STEPS))
    parser.add_argument("--question", type=int)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(STEPS[args.step](args)))
        return
    summary = {}
    for db in args.db.split(","):
        if db == "postgresql" and not _common.pg_available():
            print("PostgreSQL not reachable; skipped")
            continue
        env = _common.database_env(db, _common.workdir())
        load = _common.run_step(HERE, ["--step", "load", "--answers", str(args.answers)], env)
        measure = _common.run_step(
            HERE,
            ["--step", "measure", "--question", str(load["question"]), "--repeat", str(args.repeat)],
            env,
        )
        ratio = measure["crosstab_s"] / measure["baseline_s"]
        print(f"\n== {db}")
        print(
            f"load      {load['answers']:>9,} answers in {load['load_s']:6.1f} s (insert_rows; peak {load['peak_mb']:,.0f} MB)"
        )
        print(
            f"crosstab  {measure['answers']:>9,} answers by unit × category × option in {measure['crosstab_s']:6.3f} s "
            f"({measure['cells']} cells, {measure['respondents']:,} respondents; best of {args.repeat})"
        )
        print(f"baseline  one SQL GROUP BY in {measure['baseline_s']:6.3f} s")
        print(f"ratio     crosstab / baseline = {ratio:.2f}   same numbers: {measure['same']}")
        summary[db] = {
            "answers": measure["answers"],
            "crosstab_s": round(measure["crosstab_s"], 3),
            "baseline_s": round(measure["baseline_s"], 3),
            "ratio": round(ratio, 2),
            "same": measure["same"],
        }
    print("\nsummary:", json.dumps(summary))


if __name__ == "__main__":
    main()
