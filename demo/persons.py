"""Synthetic personal data for demo case reports (never real people)."""
from __future__ import annotations

from datetime import date

import numpy as np

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢傅钟"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬辉斌鹏宇浩凯晨欣怡佳雨婷子轩梓涵一诺"
ROADS = ("天山路", "仙霞路", "娄山关路", "古北路", "延安西路", "长宁路", "愚园路", "安顺路", "哈密路", "虹桥路",
         "北渔路", "淞虹路", "协和路", "剑河路", "金钟路", "中山西路", "新华路", "定西路", "番禺路", "遵义路")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_number(district_code: str, birth: date, seq: int, female: bool) -> str:
    """An 18-digit resident ID number with a valid GB 11643 check digit."""
    seq = seq % 500 * 2 + (0 if female else 1)
    body = f"{district_code}{birth:%Y%m%d}{seq:03d}"
    total = sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS, strict=True))
    return body + _ID_CHECK[total % 11]


_SURNAMES = list(SURNAMES)
_GIVEN = list(GIVEN)
_PREFIXES = ("38", "39", "58", "59", "86", "88", "37", "52")


def person(rng: np.random.Generator, district_code: str, birth: date, female: bool, seq: int) -> dict[str, str]:
    """Name, ID number, mobile phone and a Changning-style street address."""
    r = rng.integers(0, 1 << 62, size=8)
    given = _GIVEN[r[0] % len(_GIVEN)] + (_GIVEN[r[1] % len(_GIVEN)] if r[2] % 2 else "")
    return {
        "name": _SURNAMES[r[3] % len(_SURNAMES)] + given,
        "id_number": id_number(district_code, birth, seq, female),
        "phone": f"1{_PREFIXES[r[4] % 8]}{r[5] % 10**8:08d}",
        "address": f"上海市长宁区{ROADS[r[6] % len(ROADS)]}{r[7] % 1999 + 1}弄{r[7] % 79 + 1}号{r[6] % 2400 + 101}室",
    }
