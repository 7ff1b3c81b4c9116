from django.db import migrations

# Seed 002: the three types every county league builds, then other common types. Staff can add,
# rename, reorder or retire types in the admin (OrgType).
TYPES = [
    ("志愿服务", True, "县域团属青年社会组织三类之一"),
    ("创业就业", True, "县域团属青年社会组织三类之一"),
    ("文艺体育", True, "县域团属青年社会组织三类之一"),
    ("公益慈善", False, ""),
    ("文化创意", False, ""),
    ("电竞", False, ""),
    ("社区服务", False, ""),
    ("学术科技", False, ""),
    ("社会实践", False, "大学生社会实践等"),
    ("其他", False, ""),
]


def load(apps, schema_editor):
    OrgType = apps.get_model("organizations", "OrgType")
    for i, (name, county, description) in enumerate(TYPES):
        OrgType.objects.get_or_create(
            name=name, defaults={"is_county_type": county, "description": description, "sort": (i + 1) * 10}
        )


def unload(apps, schema_editor):
    OrgType = apps.get_model("organizations", "OrgType")
    OrgType.objects.filter(name__in=[name for name, _c, _d in TYPES], organizations__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("organizations", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
