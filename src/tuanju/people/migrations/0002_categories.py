from django.db import migrations

# Seed 001's three types of emerging youth, with seed 000's six categories and the everyday
# occupations cadres record beneath them. Staff can add more in the admin.
TAXONOMY = [
    ("网络文化青年", ["签约作家", "自由撰稿人", "网络主播", "短视频创作者", "网络写手", "电竞从业者"]),
    ("独立文艺青年", ["独立制片人", "独立演员歌手", "自由美术工作者", "独立设计师", "独立音乐人"]),
    ("生活新业态青年", ["外卖骑手", "快递员", "网约车司机", "货车司机", "家政服务员", "电商从业者"]),
    ("新社会组织从业人员", ["社会组织从业人员", "律师事务所从业人员", "会计师事务所从业人员"]),
]


def load(apps, schema_editor):
    Category = apps.get_model("people", "Category")
    for i, (top, children) in enumerate(TAXONOMY):
        parent, _ = Category.objects.get_or_create(name=top, defaults={"sort": i * 100})
        for j, name in enumerate(children, start=1):
            Category.objects.get_or_create(name=name, defaults={"parent": parent, "sort": i * 100 + j})


def unload(apps, schema_editor):
    Category = apps.get_model("people", "Category")
    names = [name for _top, children in TAXONOMY for name in children]
    Category.objects.filter(name__in=names).delete()
    Category.objects.filter(name__in=[top for top, _ in TAXONOMY]).delete()


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
