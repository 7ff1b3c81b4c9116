from django.db import migrations

# Appeal categories from the issue (C10) and what the 12345 hotline centres file emerging youth's
# appeals under (seed 001: 接诉即办 with 人社、司法; 2,000+ consultations on careers, social
# security and legal questions). Time limits are working days after assignment. Synonyms let
# the 12345 import map the hotline's own category names.
CATEGORIES = [
    ("就业创业", 5, "hr", "求职就业,就业,创业,职业培训,技能培训,职业发展,创业扶持,人力资源"),
    ("权益保障", 5, "justice", "劳动保障,劳动和社会保障,拖欠工资,欠薪,工资,劳动纠纷,劳动合同,工伤,社保,社会保险,维权,法律咨询,法律援助"),
    ("婚恋交友", 10, "league", "婚恋,交友,联谊,相亲"),
    ("心理健康", 3, "health", "心理,心理咨询,情绪,压力,心理疏导"),
    ("学习提升", 10, "education", "教育,学历提升,学历,培训,考证,继续教育,子女入学,入学"),
    ("住房", 10, "housing", "住房保障,租房,公租房,人才公寓,房屋租赁,住房租赁"),
    ("生活服务", 5, "civil", "交通出行,停车,充电,城市管理,生活,社区服务,困难救助,救助"),
    ("其他", 5, "", "其它,综合,咨询,建议"),
]

# Services at stations (seed 001: 体检、义诊、理发; warm stations and courier rest stops).
SERVICES = [
    ("休息饮水", ""),
    ("手机充电", ""),
    ("热饭加热", ""),
    ("应急药箱", "身体健康"),
    ("体检", "身体健康"),
    ("义诊", "身体健康"),
    ("理发", ""),
    ("法律咨询", "权益保障"),
    ("职业指导", "就业创业"),
    ("心理疏导", "心理健康"),
    ("学习交流", "学习提升"),
    ("技能培训", "就业创业"),
    ("交友联谊", "婚恋交友"),
    ("运动健身", "运动健身"),
    ("政策咨询", "权益保障"),
]


def load(apps, schema_editor):
    Category = apps.get_model("appeals", "AppealCategory")
    for i, (name, days, kind, synonyms) in enumerate(CATEGORIES, start=1):
        Category.objects.get_or_create(
            name=name,
            defaults={"time_limit_days": days, "department_kind": kind, "synonyms": synonyms, "sort": i * 10},
        )
    ServiceType = apps.get_model("appeals", "ServiceType")
    for i, (name, tag) in enumerate(SERVICES, start=1):
        ServiceType.objects.get_or_create(name=name, defaults={"tag": tag, "sort": i * 10})


def unload(apps, schema_editor):
    apps.get_model("appeals", "AppealCategory").objects.filter(
        name__in=[c[0] for c in CATEGORIES], appeals__isnull=True
    ).delete()
    apps.get_model("appeals", "ServiceType").objects.filter(name__in=[s[0] for s in SERVICES]).delete()


class Migration(migrations.Migration):
    dependencies = [("appeals", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
