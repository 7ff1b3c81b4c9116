"""C2: the youth roster (花名册). Resident IDs and phones are stored encrypted (core/crypto.py)."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tuanju.core.crypto import cipher, mask_phone, mask_resident_id
from tuanju.core.scope import ScopedQuerySet
from tuanju.core.text import pinyin_initials


class Category(models.Model):
    """Two-level taxonomy of emerging youth groups (configurable; seeded by a data migration)."""

    name = models.CharField(_("name"), max_length=40, unique=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    sort = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["sort", "id"]

    def __str__(self) -> str:
        return f"{self.parent.name} / {self.name}" if self.parent_id else self.name


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=30, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Gender(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class PoliticalStatus(models.TextChoices):
    MASSES = "masses", _("Masses")
    LEAGUE = "league", _("Communist Youth League member")
    PARTY = "party", _("CPC member")
    PROBATIONARY = "probationary", _("CPC probationary member")
    DEMOCRATIC = "democratic", _("Democratic party member")
    INDEPENDENT = "independent", _("Independent")


class Source(models.TextChoices):
    MANUAL = "manual", _("Entered by staff")
    IMPORT = "import", _("Imported")
    COMMUNITY = "community", _("Joined a community")
    API = "api", _("API")


class PersonQuerySet(ScopedQuerySet):
    scope_field = "unit"

    def search(self, term: str):
        """Name, pinyin initials, last four phone digits or an exact resident ID."""
        from tuanju.imports import normalize

        term = normalize.text(term)[:40]
        if not term:
            return self
        compacted = term.replace(" ", "").upper()
        if len(compacted) == 18 and compacted[:17].isdigit():
            return self.filter(resident_id_bidx=cipher().blind_index(compacted))
        if len(compacted) == 11 and compacted.isdigit():
            return self.filter(phone_bidx=cipher().blind_index(compacted))
        if len(compacted) == 4 and compacted.isdigit():
            return self.filter(phone_last4=compacted)
        if term.isascii() and term.isalpha():
            return self.filter(name_pinyin__startswith=term.lower())
        return self.filter(name__contains=term)

    def aged_between(self, low: int | None, high: int | None, today: date | None = None):
        today = today or date.today()
        qs = self
        if low is not None:
            qs = qs.filter(birth_date__lte=_years_before(today, low))
        if high is not None:
            qs = qs.filter(birth_date__gt=_years_before(today, high + 1))
        return qs


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


class Person(models.Model):
    unit = models.ForeignKey(
        "hierarchy.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="people"
    )
    name = models.CharField(_("name"), max_length=50)
    name_pinyin = models.CharField(_("pinyin initials"), max_length=50, blank=True, db_index=True)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)

    resident_id_enc = models.BinaryField(_("resident ID (encrypted)"), null=True, blank=True, editable=False)
    resident_id_bidx = models.CharField(max_length=32, null=True, blank=True, unique=True, editable=False)
    resident_id_masked = models.CharField(_("resident ID"), max_length=18, blank=True, editable=False)
    phone_enc = models.BinaryField(_("phone (encrypted)"), null=True, blank=True, editable=False)
    phone_bidx = models.CharField(max_length=32, null=True, blank=True, db_index=True, editable=False)
    phone_masked = models.CharField(_("phone"), max_length=11, blank=True, editable=False)
    phone_last4 = models.CharField(max_length=4, blank=True, db_index=True, editable=False)

    political_status = models.CharField(
        _("political status"), max_length=12, choices=PoliticalStatus.choices, blank=True
    )
    ethnicity = models.CharField(_("ethnicity"), max_length=10, blank=True)
    education = models.CharField(_("education"), max_length=20, blank=True)
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="people",
    )
    employer = models.CharField(_("platform / employer"), max_length=100, blank=True)
    skills = models.CharField(_("skills"), max_length=200, blank=True)
    interests = models.CharField(_("interests"), max_length=200, blank=True)
    needs = models.CharField(_("needs"), max_length=300, blank=True)
    notes = models.CharField(_("notes"), max_length=500, blank=True)
    is_backbone = models.BooleanField(_("backbone"), default=False)
    in_talent_pool = models.BooleanField(_("talent pool"), default=False)
    is_mentor = models.BooleanField(_("dream mentor"), default=False)
    mentors = models.ManyToManyField(
        "self", verbose_name=_("mentors"), symmetrical=False, blank=True, related_name="mentees"
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="people")
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.MANUAL)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = PersonQuerySet.as_manager()

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        # Few indexes on purpose: a million-row import pays for each one. Filters on
        # low-cardinality columns run inside the unit scope, which the unit index narrows.

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.name_pinyin = pinyin_initials(self.name)[:50]
        super().save(*args, **kwargs)

    # Personal data: the only way in and out of the encrypted columns.
    def set_resident_id(self, number: str) -> None:
        c = cipher()
        self.resident_id_enc = c.encrypt(number) if number else None
        self.resident_id_bidx = c.blind_index(number) if number else None
        self.resident_id_masked = mask_resident_id(number)

    def set_phone(self, phone: str) -> None:
        c = cipher()
        self.phone_enc = c.encrypt(phone) if phone else None
        self.phone_bidx = c.blind_index(phone) if phone else None
        self.phone_masked = mask_phone(phone)
        self.phone_last4 = phone[-4:] if phone else ""

    def reveal_resident_id(self) -> str:
        """Decrypt; callers must audit-log the view (people.actions.reveal does)."""
        return cipher().decrypt(self.resident_id_enc)

    def reveal_phone(self) -> str:
        return cipher().decrypt(self.phone_enc)

    @property
    def age(self) -> int | None:
        if not self.birth_date:
            return None
        today = date.today()
        return (
            today.year
            - self.birth_date.year
            - ((today.month, today.day) < (self.birth_date.month, self.birth_date.day))
        )


class ContactChannel(models.TextChoices):
    PHONE = "phone", _("Phone call")
    WECHAT = "wechat", _("WeChat")
    VISIT = "visit", _("Visit")
    ACTIVITY = "activity", _("At an activity")
    OTHER = "other", _("Other")


class ContactLogQuerySet(ScopedQuerySet):
    scope_field = "person__unit"


class ContactLog(models.Model):
    """联系记录: one contact between a cadre and a young person."""

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="contacts"
    )
    cadre = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("cadre"), on_delete=models.PROTECT, related_name="contacts"
    )
    contacted_on = models.DateField(_("date"), db_index=True)
    channel = models.CharField(_("channel"), max_length=10, choices=ContactChannel.choices)
    summary = models.CharField(_("summary"), max_length=500)
    follow_up = models.CharField(_("follow-up needs"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ContactLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contact log")
        ordering = ["-contacted_on", "-id"]

    def __str__(self) -> str:
        return f"{self.contacted_on} {self.person}"


class LiaisonDutyQuerySet(ScopedQuerySet):
    scope_field = "person__unit"


class LiaisonDuty(models.Model):
    """ "1+N": one cadre keeps in regular touch with N backbone youth."""

    cadre = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("cadre"), on_delete=models.CASCADE, related_name="duties"
    )
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="duties"
    )
    since = models.DateField(_("since"), auto_now_add=True)

    objects = LiaisonDutyQuerySet.as_manager()

    class Meta:
        verbose_name = _("liaison duty")
        verbose_name_plural = _("liaison duties")
        constraints = [models.UniqueConstraint(fields=["cadre", "person"], name="unique_liaison_duty")]

    def __str__(self) -> str:
        return f"{self.cadre} → {self.person}"
