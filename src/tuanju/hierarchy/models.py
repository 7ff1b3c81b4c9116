"""C1: the unit tree every statistic rolls up along.

Units form a materialized-path tree (django-treebeard ``MP_Node``): a unit's ``path`` is its
parent's path plus four base-36 characters, so a subtree is one index range
(``path LIKE 'prefix%'``) and the child a descendant belongs to is ``substr(path, 1, len+4)``.
"""

from django.db import models
from django.db.models import Count, F, Q
from django.db.models.functions import Lower, Substr
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node, MP_NodeManager, MP_NodeQuerySet

from tuanju.core.scope import ScopedQuerySet
from tuanju.core.text import pinyin_initials


class Level(models.TextChoices):
    NATION = "nation", _("Central")
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    COUNTY = "county", _("County / district")
    TOWN = "town", _("Town / street")
    TIER1 = "tier1", _("Tier-1 unit (village / community / park)")
    TIER2 = "tier2", _("Tier-2 unit (hamlet / estate / enterprise block)")
    TIER3 = "tier3", _("Tier-3 unit (villager group / stairwell / workshop team)")


LEVEL_ORDER = [choice.value for choice in Level]
#: The three smallest levels, each of which gets a tower group (C5).
TOWER_LEVELS = (Level.TIER1, Level.TIER2, Level.TIER3)
#: Levels whose codes come from GB/T 2260; codes below are generated under the parent.
DIVISION_LEVELS = (Level.NATION, Level.PROVINCE, Level.CITY, Level.COUNTY)


def next_level(level: str) -> str | None:
    index = LEVEL_ORDER.index(level)
    return LEVEL_ORDER[index + 1] if index + 1 < len(LEVEL_ORDER) else None


class OrgUnitQuerySet(ScopedQuerySet, MP_NodeQuerySet):
    scope_field = ""

    def search(self, term: str):
        term = (term or "").strip()
        if not term:
            return self
        if term.isdigit():
            return self.filter(code__startswith=term)
        # Lower() rather than name__icontains: SQLite runs with case_sensitive_like (so prefix
        # scans use the indexes), which makes every i-lookup case-sensitive there.
        lowered = term.lower()
        matches = Q(name_lower__contains=lowered)
        if term.isascii():
            matches |= Q(pinyin__startswith=lowered)
        return self.alias(name_lower=Lower("name")).filter(matches)


class OrgUnitManager(MP_NodeManager):
    def get_queryset(self):
        return OrgUnitQuerySet(self.model, using=self._db).order_by("path")

    def visible_to(self, user):
        return self.get_queryset().visible_to(user)

    def in_subtree(self, unit):
        return self.get_queryset().in_subtree(unit)

    def search(self, term: str):
        return self.get_queryset().search(term)


class OrgUnit(MP_Node):
    """A league committee or one of the smaller units below a town."""

    steplen = 4
    node_order_by = None
    scope_field = ""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices, db_index=True)
    kind = models.CharField(
        _("kind"), max_length=20, blank=True, help_text=_("e.g. village, community, park")
    )
    pinyin = models.CharField(_("pinyin initials"), max_length=100, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrgUnitManager()

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.pinyin = pinyin_initials(self.name)
        super().save(*args, **kwargs)

    @property
    def is_division(self) -> bool:
        return self.level in DIVISION_LEVELS

    def breadcrumb(self):
        """Ancestors from the root down to this unit, in one query."""
        paths = [self.path[: i * self.steplen] for i in range(1, self.depth + 1)]
        return list(OrgUnit.objects.filter(path__in=paths).order_by("depth"))

    def subtree(self):
        return OrgUnit.objects.filter(path__subtree=self.path)

    def child_rollup(self, queryset, path_field: str = "path", *, include_self_level: bool = False):
        """Counts of ``queryset`` rows per child of this unit, in one grouped query.

        ``path_field`` is the lookup to the unit path of each row (``"path"`` for units,
        ``"unit__path"`` for people…). Returns ``{child_path: count}``; rows that sit on this
        unit itself count under ``self.path`` when ``include_self_level`` is true.
        """
        width = len(self.path) + self.steplen
        rows = (
            queryset.filter(**{f"{path_field}__subtree": self.path})
            .annotate(child_path=Substr(F(path_field), 1, width))
            .values("child_path")
            .annotate(n=Count("pk"))
            .order_by()
        )
        result: dict[str, int] = {}
        for row in rows:
            key = row["child_path"]
            if len(key) < width and not include_self_level:
                continue
            result[key] = row["n"]
        return result
