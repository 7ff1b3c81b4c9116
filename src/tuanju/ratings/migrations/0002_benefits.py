"""The benefits seed 004 ties to liaison stars (专属福利), with the stars each needs."""

from decimal import Decimal

from django.db import migrations

BENEFITS = [
    ("excellence", "评优评先", 5, "推荐参评“战疫先锋”“优秀志愿者”等荣誉", "", None),
    ("party", "推优入党", 4, "向党组织推荐优秀团员青年作为入党积极分子", "", None),
    ("selection", "选拔推荐", 4, "推荐进入团的岗位或参加基层岗位定向招考", "", None),
    ("data_allowance", "流量补助", 3, "手机流量补助", "元", Decimal("50")),
    ("credit", "信用激励", 3, "社群青年信用评价加分", "分", Decimal("10")),
    ("volunteer_hours", "志愿时长激励", 3, "记入志愿服务时长", "小时", Decimal("10")),
]


def seed(apps, schema_editor):
    Benefit = apps.get_model("ratings", "Benefit")
    for sort, (code, name, stars, description, unit, amount) in enumerate(BENEFITS):
        Benefit.objects.update_or_create(
            code=code,
            defaults={
                "name": name, "min_stars": stars, "description": description, "amount_unit": unit,
                "default_amount": amount, "sort": sort,
            },
        )


def unseed(apps, schema_editor):
    apps.get_model("ratings", "Benefit").objects.filter(code__in=[b[0] for b in BENEFITS], grants__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("ratings", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
