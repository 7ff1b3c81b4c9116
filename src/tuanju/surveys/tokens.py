"""Signed links of the public survey pages and of a person's H5 recommendations page.

A survey link carries the survey, its ``access_nonce`` (rotating it revokes every link and QR
code issued before) and the channel it was published through (qr, link, or directive with the
directive's id), so answers can be counted per channel and per directive.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing

SURVEY_SALT = "tuanju.surveys.link"
PERSON_SALT = "tuanju.surveys.person"
PERSON_MAX_AGE = 180 * 86400


@dataclass(frozen=True)
class SurveyLink:
    survey_id: int
    nonce: str
    channel: str
    directive: int | None


def survey_token(survey, channel: str = "link", directive: int | None = None) -> str:
    payload = {"s": survey.pk, "n": survey.access_nonce, "c": channel}
    if directive is not None:
        payload["d"] = int(directive)
    return signing.dumps(payload, salt=SURVEY_SALT, compress=True)


def read_survey_token(token: str) -> SurveyLink | None:
    try:
        payload = signing.loads(token or "", salt=SURVEY_SALT)
        link = SurveyLink(
            int(payload["s"]), str(payload["n"]), str(payload.get("c", "link")), payload.get("d")
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    if link.channel not in ("qr", "link", "directive"):
        return None
    return link


def person_token(person) -> str:
    return signing.dumps({"p": person.pk}, salt=PERSON_SALT, compress=True)


def read_person_token(token: str) -> int | None:
    try:
        return int(signing.loads(token or "", salt=PERSON_SALT, max_age=PERSON_MAX_AGE)["p"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
