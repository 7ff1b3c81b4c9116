"""The survey's summary report as a PDF (WeasyPrint), with charts drawn as SVG on the server.

WeasyPrint needs Pango (Debian: libpango-1.0-0, libpangoft2-1.0-0, libharfbuzz-subset0) and a
CJK font (fonts-noto-cjk) to set Chinese text; it is imported only when a report is made.
"""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from tuanju.audit.actions import record
from tuanju.surveys import results, svgchart
from tuanju.surveys.models import CHOICE_KINDS, QuestionKind


def report_context(survey, responses, *, crosstab_by: str | None = "category", base_unit=None) -> dict:
    frequencies = results.frequencies(survey, responses)
    sections = []
    for result in frequencies:
        section = {"result": result, "chart": "", "crosstab": None, "crosstab_chart": ""}
        if result.kind in CHOICE_KINDS or result.kind == QuestionKind.SCALE:
            rows = [(row.text, row.percent, row.count) for row in result.rows]
            section["chart"] = mark_safe(svgchart.bars(rows))  # noqa: S308 - built by svgchart, texts escaped
            if crosstab_by and result.respondents:
                table = results.crosstab(
                    result.question, crosstab_by, base_unit=base_unit, responses=responses
                )
                if table.rows:
                    section["crosstab"] = table
                    if result.kind == QuestionKind.SINGLE and len(table.columns) <= 10:
                        section["crosstab_chart"] = mark_safe(  # noqa: S308 - texts escaped by svgchart
                            svgchart.stacked(
                                [(row["label"], row["percents"]) for row in table.rows[:15]],
                                [label for _key, label in table.columns],
                            )
                        )
        sections.append(section)
    return {
        "survey": survey,
        "sections": sections,
        "respondents": responses.count(),
        "profile": results.profile_breakdown(responses),
        "crosstab_label": results.DIMENSIONS.get(crosstab_by or "", ""),
        "generated_at": timezone.localtime(),
    }


def render_pdf(survey, responses, *, actor, crosstab_by: str | None = "category", base_unit=None) -> bytes:
    from weasyprint import HTML

    html = render_to_string(
        "surveys/report_pdf.html",
        report_context(survey, responses, crosstab_by=crosstab_by, base_unit=base_unit),
    )
    pdf = HTML(string=html).write_pdf()
    record(actor, "export", survey, details={"kind": "survey_report_pdf", "by": crosstab_by or ""})
    return pdf
