from django.db import migrations

# Seed 000: the 72 key cities of the 筑梦计划 are checked against six points ("六个一").
SIX_ONES = [
    ("凝聚一批新兴领域青年", "摸清并联系一批新兴领域青年，建立花名册。"),
    ("建立一套联系机制", "建立团干部联系新兴青年的常态化机制（如“1+N”联系）。"),
    ("搭建一组工作平台", "搭建线上线下工作平台（青年之家、社群、阵地等）。"),
    ("组建一个梦想导师团", "组建由行业骨干和专家组成的梦想导师团。"),
    ("开展一次有影响的活动", "开展至少一次有社会影响的品牌活动。"),
    ("形成一支工作力量", "形成一支稳定的专兼职工作力量。"),
]
# Seed 002: weekly ledgers (周台账) kept by the units below a committee; by default counties
# report to their city and towns to their county.
DEFAULT_FIELDS = ["new_people", "contacts", "orgs_added", "activities", "directives", "appeals_handled"]


def load(apps, schema_editor):
    Template = apps.get_model("insights", "ChecklistTemplate")
    Item = apps.get_model("insights", "ChecklistItem")
    Schema = apps.get_model("insights", "LedgerSchema")
    template, created = Template.objects.get_or_create(
        name="六个一", defaults={"description": "“筑梦计划”重点联系城市工作重点"}
    )
    if created:
        for position, (title, description) in enumerate(SIX_ONES):
            Item.objects.create(template=template, position=position, title=title, description=description)
    for level in ("county", "town"):
        Schema.objects.get_or_create(level=level, defaults={"fields": DEFAULT_FIELDS, "due_hours": 12})


def unload(apps, schema_editor):
    apps.get_model("insights", "ChecklistTemplate").objects.filter(name="六个一").delete()
    apps.get_model("insights", "LedgerSchema").objects.filter(level__in=("county", "town")).delete()


class Migration(migrations.Migration):
    dependencies = [("insights", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
