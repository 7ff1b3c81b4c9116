from django.db import migrations

# Seed 004 (潜江): the seven kinds of interest community. Staff can add, rename or retire
# categories in the admin; this only seeds the list.
CATEGORIES = [
    ("突击应急", "应急救援、防汛抗疫等急难险重任务的青年突击队"),
    ("志愿服务", "助童、助青、助老等志愿服务"),
    ("工作交流", "同行业、同岗位青年的工作交流"),
    ("信息共享", "政策、就业、活动等信息的发布与共享"),
    ("学习提升", "读书、技能培训、学历提升"),
    ("婚恋交友", "青年联谊与交友"),
    ("兴趣爱好", "运动健身、文艺、旅行等兴趣爱好"),
]


def load(apps, schema_editor):
    Category = apps.get_model("groups", "CommunityCategory")
    for i, (name, description) in enumerate(CATEGORIES, start=1):
        Category.objects.get_or_create(name=name, defaults={"description": description, "sort": i * 10})


def unload(apps, schema_editor):
    Category = apps.get_model("groups", "CommunityCategory")
    Category.objects.filter(name__in=[name for name, _ in CATEGORIES], communities__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("groups", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
