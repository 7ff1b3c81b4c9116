"""Deterministic, plausible but fictitious Chinese people and place names.

Every draw comes from a ``random.Random`` seeded by the caller, so the same seed builds the
same world on every machine. Resident IDs are checksum-valid with consistent birth dates and
genders, but their sequence codes are synthetic; phones use common mobile prefixes with a
fixed "0000"-range middle block that marks them as generated.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from tuanju.core import idcard

# The most common surnames, roughly weighted by frequency.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_MALE = "伟强磊军洋勇杰涛超明刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欢阳建晨航瑞博文轩昊然睿泽"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀燕玲桂丹萍红玉兰琳婷雪慧莹晶颖倩洁佳悦欣怡梦涵瑶诗雨萱思彤琪"
PLACE_SYLLABLES = (
    "东南西北上下前后新老大小山水江河湖塘溪岭桥坊店园林田丰安宁和平兴华盛荣福德康泰锦绣青云龙凤金银"
)
MOBILE_PREFIXES = (
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "157",
    "158",
    "159",
    "187",
    "188",
    "130",
    "131",
    "132",
    "155",
    "156",
    "185",
    "186",
    "133",
    "153",
    "180",
    "181",
    "189",
    "177",
    "199",
)


@dataclass(frozen=True)
class SynthPerson:
    name: str
    gender: str  # "M" / "F"
    birth_date: date
    resident_id: str
    phone: str


class Synth:
    def __init__(self, seed: int = 1):
        self.rng = random.Random(seed)
        self._sequence = 0
        self._issued_ids: set[str] = set()

    def name(self, male: bool) -> str:
        rng = self.rng
        given = GIVEN_MALE if male else GIVEN_FEMALE
        surname = SURNAMES[min(int(rng.expovariate(1 / 18)), len(SURNAMES) - 1)]
        length = 1 if rng.random() < 0.3 else 2
        return surname + "".join(rng.choice(given) for _ in range(length))

    def phone(self) -> str:
        return self.rng.choice(MOBILE_PREFIXES) + "0000" + f"{self.rng.randrange(10000):04d}"

    def person(self, region: str, *, today: date, min_age: int = 16, max_age: int = 40) -> SynthPerson:
        rng = self.rng
        male = rng.random() < 0.56
        age_days = rng.randrange(min_age * 365, max_age * 365)
        born = today - timedelta(days=age_days)
        # Each (region, birth date, gender) has 500 sequence codes; step through them until unused.
        while True:
            self._sequence += 1
            number = idcard.make(region, born, self._sequence, male=male)
            if number not in self._issued_ids:
                break
            if self._sequence % 500 == 0:
                born -= timedelta(days=1)
        self._issued_ids.add(number)
        return SynthPerson(
            name=self.name(male),
            gender="M" if male else "F",
            birth_date=born,
            resident_id=number,
            phone=self.phone(),
        )

    def place(self, length: int = 2) -> str:
        return "".join(self.rng.choice(PLACE_SYLLABLES) for _ in range(length))

    def split(self, total: int, buckets: int) -> list[int]:
        """``total`` items over ``buckets`` (each at least one), unevenly but deterministically."""
        if buckets <= 0:
            return []
        if total < buckets:
            raise ValueError("fewer items than buckets")
        weights = [self.rng.uniform(0.5, 1.5) for _ in range(buckets)]
        scale = (total - buckets) / sum(weights)
        counts = [1 + int(w * scale) for w in weights]
        for i in range(total - sum(counts)):
            counts[i % buckets] += 1
        return counts
