"""The staff UI is Chinese by default, complete, and switches to English."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.utils import translation

import tuanju

PO = Path(tuanju.__file__).parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _entries(text: str):
    """(msgid, msgstr-or-msgstr[0], flags) for every entry but the header."""
    for block in text.split("\n\n"):
        if "msgid " not in block:
            continue
        flags = " ".join(line for line in block.splitlines() if line.startswith("#,"))
        msgid = "".join(
            re.findall(r'^(?:msgid|)\s*"(.*)"$', block.split("msgid_plural")[0].split("msgstr")[0], re.M)
        )
        strs = re.split(r"^msgstr(?:\[\d+\])? ", block, flags=re.M)[1:]
        first = "".join(re.findall(r'"(.*)"', strs[0])) if strs else ""
        yield msgid, first, flags


def test_catalogue_is_complete_and_not_fuzzy():
    text = PO.read_text(encoding="utf-8")
    entries = [e for e in _entries(text) if e[0]]
    assert len(entries) > 1000
    untranslated = [msgid for msgid, msgstr, _ in entries if not msgstr]
    fuzzy = [msgid for msgid, _, flags in entries if "fuzzy" in flags]
    assert untranslated == []
    assert fuzzy == []


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext's msgfmt is not installed")
def test_catalogue_compiles_cleanly(tmp_path):
    out = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", str(tmp_path / "django.mo"), str(PO)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "untranslated" not in out.stderr and "fuzzy" not in out.stderr


def test_compiled_catalogue_translates():
    with translation.override("zh-hans"):
        assert translation.gettext("Units") == "单位"
        assert translation.gettext("Audit log") == "审计日志"
    with translation.override("en"):
        assert translation.gettext("Units") == "Units"


def test_pages_are_chinese_by_default_and_switch_to_english(client, staff):
    page = client.get("/login/").content.decode()
    assert "工作人员登录" in page or "登录" in page
    client.force_login(staff["yiwu_cadre"])
    tree = client.get("/units/").content.decode()
    assert "单位" in tree and "Organization hierarchy" not in tree
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/units/"})
    assert response.status_code == 302
    english = client.get("/units/").content.decode()
    assert "Organization hierarchy" in english
