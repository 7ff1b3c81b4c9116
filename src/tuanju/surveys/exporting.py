"""Raw answers of a survey as a streaming xlsx: one row per response, one column per question.

Responses are read in chunks of ``CHUNK`` with their answers fetched per chunk, so a survey with
a million answers is written in constant memory. Phones of real-name respondents stay masked.
"""

from __future__ import annotations

import tempfile

from django.utils import timezone

from tuanju.audit.actions import record
from tuanju.imports.xlsx import StreamingSheetWriter
from tuanju.people.models import Category
from tuanju.surveys.models import AGE_BAND_LABELS, Answer, Choice, Mode
from tuanju.surveys.results import GENDER_LABELS

CHUNK = 2000


def export_answers(survey, responses, target, *, actor) -> int:
    questions = list(survey.questions.order_by("position", "id"))
    choice_text = dict(Choice.objects.filter(question__survey=survey).values_list("pk", "text"))
    categories = dict(Category.objects.values_list("pk", "name"))
    real_name = survey.mode == Mode.REAL_NAME
    writer = StreamingSheetWriter(target, "答卷")
    header = [
        ("答卷编号", 10),
        ("提交时间", 17),
        ("渠道", 8),
        ("所在单位", 16),
        ("性别", 6),
        ("年龄段", 9),
        ("群体类别", 14),
    ]
    if real_name:
        header += [("姓名", 10), ("手机号", 13), ("花名册", 8)]
    header += [(f"{q.number}. {q.text}"[:80], 24) for q in questions]
    writer.header([h for h, _ in header], [w for _, w in header])
    column = {q.pk: i for i, q in enumerate(questions)}
    count = 0
    ordered = responses.select_related("unit").order_by("pk")
    last = 0
    while True:
        chunk = list(ordered.filter(pk__gt=last)[:CHUNK])
        if not chunk:
            break
        last = chunk[-1].pk
        cells: dict[int, list[list[str]]] = {r.pk: [[] for _ in questions] for r in chunk}
        rows = (
            Answer.objects.filter(response_id__in=list(cells))
            .values_list("response_id", "question_id", "choice_id", "value", "text")
            .order_by("response_id", "question_id", "choice__position", "id")
        )
        for response_id, question_id, choice_id, value, text in rows:
            slot = cells[response_id][column[question_id]]
            if choice_id is not None:
                slot.append(choice_text.get(choice_id, ""))
            elif value is not None:
                slot.append(str(value))
            else:
                slot.append(text)
        for response in chunk:
            values = [
                response.pk,
                timezone.localtime(response.submitted_at),
                response.get_channel_display(),
                response.unit.name if response.unit_id else "",
                GENDER_LABELS.get(response.gender, ""),
                AGE_BAND_LABELS.get(response.age_band, ""),
                categories.get(response.category_id, ""),
            ]
            if real_name:
                values += [response.name, response.phone_masked, response.person_id is not None]
            values += ["；".join(parts) for parts in cells[response.pk]]
            writer.write(values)
            count += 1
    writer.close()
    record(actor, "export", survey, details={"kind": "survey_answers", "rows": count})
    return count


def to_tempfile(survey, responses, *, actor):
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - the response closes it
    try:
        export_answers(survey, responses, handle, actor=actor)
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return handle
