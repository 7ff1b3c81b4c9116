"""The public H5 pages: filing on a phone, following and rating, station check-in; CSRF, limits, tokens."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image
from test_appeals_fixtures import jpeg_upload, make_station

from tuanju.appeals import actions, tokens
from tuanju.appeals.models import Appeal, AppealPhoto, Satisfaction, ServiceRecord, Source, Status
from tuanju.appeals.ratelimit import Limit, hit

pytest_plugins = ["test_appeals_fixtures"]


def intake_url(unit, station=None) -> str:
    return reverse("h5-appeals:new", args=[tokens.intake_token(unit, station)])


def form_data(**extra) -> dict:
    from tuanju.appeals.models import AppealCategory

    data = {
        "category": AppealCategory.objects.get(name="权益保障").pk,
        "content": "电动车在站点被偷，报警后没有进展，希望帮助协调",
        "contact_name": "陈静",
        "phone": "13800003333",
        "consent": "on",
    }
    data.update(extra)
    return data


@pytest.mark.django_db
class TestIntake:
    def test_a_youth_files_on_a_phone_and_follows_it_to_the_rating(self, world, staff, appeal_depts):
        phone = Client()
        page = phone.get(intake_url(world["330782"]))
        assert page.status_code == 200
        body = page.content.decode()
        assert 'name="viewport"' in body and "个人信息处理说明" in body and 'name="consent"' in body
        photo = jpeg_upload(exif_gps=True)
        response = phone.post(
            intake_url(world["330782"]),
            form_data(area="330782001", is_anonymous="on", photos=[photo]),
        )
        assert response.status_code == 302
        appeal = Appeal.objects.get()
        assert appeal.source == Source.H5 and appeal.unit == world["330782001"] and appeal.is_anonymous
        assert appeal.consent_version == actions.PRIVACY_VERSION and appeal.consent_at is not None
        assert appeal.phone_masked == "138****3333" and appeal.created_by is None
        stored = AppealPhoto.objects.get(appeal=appeal)
        with stored.image.open("rb") as fh, Image.open(fh) as image:
            assert image.format == "JPEG" and not image.getexif()  # EXIF (and GPS) removed
        follow = response["Location"]
        assert follow.startswith("/h5/appeals/t/")
        assert (
            "已收到" in phone.get(follow).content.decode() or "Received" in phone.get(follow).content.decode()
        )
        # staff route it to the 人社局 with a working-day deadline; the department answers
        cadre = staff["yiwu_cadre"]
        actions.route(appeal, actor=cadre, department=appeal_depts["yiwu_hr"])
        actions.reply(appeal, actor=appeal_depts["hr_user"], text="已联系辖区派出所跟进，车辆已找回。")
        page = phone.get(follow.split("?")[0]).content.decode()
        assert "车辆已找回" in page and 'name="satisfaction"' in page
        rated = phone.post(follow.split("?")[0], {"satisfaction": Satisfaction.SATISFIED, "comment": "很快"})
        assert rated.status_code == 302
        appeal.refresh_from_db()
        assert appeal.status == Status.CLOSED and appeal.satisfaction == Satisfaction.SATISFIED

    def test_csrf_is_enforced(self, world):
        phone = Client(enforce_csrf_checks=True)
        response = phone.post(intake_url(world["330782"]), form_data())
        assert response.status_code == 403
        assert not Appeal.objects.exists()
        page = phone.get(intake_url(world["330782"]))
        token = page.cookies["csrftoken"].value
        response = phone.post(intake_url(world["330782"]), form_data(csrfmiddlewaretoken=token))
        assert response.status_code == 302 and Appeal.objects.count() == 1

    def test_consent_is_required(self, world):
        data = form_data()
        del data["consent"]
        response = Client().post(intake_url(world["330782"]), data)
        assert response.status_code == 200
        assert "请阅读并同意个人信息处理说明" in response.content.decode()
        assert not Appeal.objects.exists()

    def test_photo_limits(self, world):
        bogus = jpeg_upload()
        bogus.file = io.BytesIO(b"%PDF-1.4 not an image at all")
        bogus.size = len(bogus.file.getvalue())
        response = Client().post(intake_url(world["330782"]), form_data(photos=[bogus]))
        assert "不是有效的照片" in response.content.decode()
        too_many = [jpeg_upload(f"p{i}.jpg") for i in range(5)]
        response = Client().post(intake_url(world["330782"]), form_data(photos=too_many))
        assert "最多上传4张照片" in response.content.decode()
        gif = io.BytesIO()
        Image.new("RGB", (10, 10)).save(gif, format="GIF")
        from django.core.files.uploadedfile import SimpleUploadedFile

        response = Client().post(
            intake_url(world["330782"]),
            form_data(photos=[SimpleUploadedFile("a.gif", gif.getvalue(), "image/gif")]),
        )
        assert "格式不支持" in response.content.decode()
        assert not Appeal.objects.exists()

    def test_honeypot_refuses_bots(self, world):
        response = Client().post(intake_url(world["330782"]), form_data(website="http://spam"))
        assert response.status_code == 200 and not Appeal.objects.exists()

    def test_rate_limit_per_address(self, world, settings):
        settings.TUANJU = {**settings.TUANJU, "H5_RATE_LIMITS": {"appeal-ip": "2/10m"}}
        phone = Client()
        for i in range(2):
            assert (
                phone.post(intake_url(world["330782"]), form_data(phone=f"1380000400{i}")).status_code == 302
            )
        refused = phone.post(intake_url(world["330782"]), form_data(phone="13800004009"))
        assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
        assert Appeal.objects.count() == 2

    def test_rate_limit_per_phone(self, world, settings):
        settings.TUANJU = {**settings.TUANJU, "H5_RATE_LIMITS": {"appeal-phone": "1/1d"}}
        assert Client().post(intake_url(world["330782"]), form_data()).status_code == 302
        assert (
            Client(REMOTE_ADDR="10.0.0.9").post(intake_url(world["330782"]), form_data()).status_code == 429
        )

    def test_tampered_tokens_are_refused(self, world, staff):
        token = tokens.intake_token(world["330782"])
        forged = token[:-3] + ("abc" if not token.endswith("abc") else "xyz")
        assert Client().get(reverse("h5-appeals:new", args=[forged])).status_code == 404
        appeal = Appeal.objects.create(
            unit=world["330782"],
            intake_unit=world["330782"],
            category_id=form_data()["category"],
            title="t",
            content="content of the appeal",
        )
        good = tokens.follow_token(appeal)
        assert Client().get(reverse("h5-appeals:follow", args=[good])).status_code == 200
        assert Client().get(reverse("h5-appeals:follow", args=[good[:-2] + "xx"])).status_code == 404
        # correctly signed but with a guessed key, or signed for another purpose: refused
        from django.core import signing

        guessed = signing.dumps({"a": appeal.pk, "k": "guess"}, salt=tokens.FOLLOW_SALT)
        assert Client().get(reverse("h5-appeals:follow", args=[guessed])).status_code == 404
        assert Client().get(reverse("h5-appeals:follow", args=[token])).status_code == 404
        # rotating the access key revokes the old link
        actions.rotate_follow_link(appeal, actor=staff["yiwu_cadre"])
        assert Client().get(reverse("h5-appeals:follow", args=[good])).status_code == 404

    def test_rating_only_when_replied(self, world, staff):
        appeal = actions.file_appeal(
            actions.NewAppeal(
                unit=world["330782"],
                category=Appeal._meta.get_field("category").related_model.objects.first(),
                content="需要帮助找工作的问题",
            ),
        )
        url = reverse("h5-appeals:follow", args=[tokens.follow_token(appeal)])
        response = Client().post(url, {"satisfaction": 1})
        assert response.status_code == 302
        appeal.refresh_from_db()
        assert appeal.satisfaction is None and appeal.status == Status.RECEIVED

    def test_limiter_windows(self):
        limit = Limit.parse("2/1m")
        assert limit == Limit(2, 60)
        assert [hit("t", "k", limit, now=1000.0).allowed for _ in range(3)] == [True, True, False]
        assert hit("t", "k", limit, now=1060.0).allowed
        with pytest.raises(ValueError):
            Limit.parse("lots")


@pytest.mark.django_db
class TestCheckin:
    def test_qr_checkin_counts_once_per_device_and_hour(self, world, staff):
        station = make_station(world["330782001"], actor=staff["yiwu_cadre"])
        url = reverse("h5-appeals:checkin", args=[tokens.checkin_token(station)])
        phone = Client()
        page = phone.get(url)
        assert page.status_code == 200 and "稠城暖心驿站" in page.content.decode()
        service = station.services.get(name="义诊")
        assert phone.post(url, {"service": service.pk}).status_code == 200
        assert phone.post(url, {"service": service.pk}).status_code == 200  # a double tap
        other = Client()
        other.post(url, {"service": service.pk, "phone": "13800009999"})
        records = ServiceRecord.objects.filter(station=station)
        assert records.count() == 2 and {r.source for r in records} == {"qr"}
        assert records.first().unit == station.unit

    def test_reset_code_revokes_posters(self, world, staff, staff_client):
        station = make_station(world["330782001"], actor=staff["yiwu_cadre"])
        old = reverse("h5-appeals:checkin", args=[tokens.checkin_token(station)])
        staff_client(staff["yiwu_cadre"]).post(reverse("appeals:station-reset-qr", args=[station.pk]))
        assert Client().get(old).status_code == 404

    def test_station_intake_link_files_at_the_station(self, world, staff):
        station = make_station(world["330782001"], actor=staff["yiwu_cadre"])
        response = Client().post(intake_url(world["330782001"], station), form_data())
        assert response.status_code == 302
        appeal = Appeal.objects.get()
        assert appeal.station == station and appeal.source == Source.STATION
