"""Demo institutions: real names, demo positions inside their street or district."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field

from demo.geography import DATA, DEMO_DISTRICT


@dataclass(frozen=True)
class InstitutionSeed:
    code: str
    name: str
    kind: str
    level: str | None
    district_code: str
    street_code: str | None = None
    fever_clinic: bool = False
    intestinal_clinic: bool = False
    sentinel_types: tuple[str, ...] = ()
    is_lab: bool = False
    vaccination_clinic: bool = False
    # relative share of the district's case reports made here
    report_weight: float = 1.0
    extra: dict[str, str] = field(default_factory=dict)


_CHC_STREETS = {
    "310105001": "华阳街道", "310105002": "江苏街道", "310105004": "新华街道", "310105005": "周家桥街道",
    "310105006": "天山路街道", "310105008": "仙霞街道", "310105009": "虹桥街道", "310105010": "程家桥街道",
    "310105011": "北新泾街道", "310105102": "新泾镇",
}


def changning() -> list[InstitutionSeed]:
    d = DEMO_DISTRICT
    out = [
        InstitutionSeed("CN-H-TR", "上海市同仁医院", "hospital", "三级", d, "310105005", True, True,
                        ("ILI", "SARI", "diarrhoea", "comprehensive"), True, False, 6.0),
        InstitutionSeed("CN-H-TS", "长宁区天山中医医院", "hospital", "二级", d, "310105006", True, True,
                        ("ILI", "comprehensive"), False, False, 2.5),
        InstitutionSeed("CN-H-DL", "上海电力医院", "hospital", "二级", d, "310105002", True, True,
                        ("comprehensive",), False, False, 2.0),
        InstitutionSeed("CN-H-905", "海军第九〇五医院", "hospital", "三级", d, "310105001", True, False, (), False, False, 1.5),
        InstitutionSeed("CN-H-GH", "上海市光华中西医结合医院", "hospital", "二级", d, "310105004", False, True,
                        ("diarrhoea",), False, False, 1.5),
        InstitutionSeed("CN-H-FY", "上海市长宁区妇幼保健院", "hospital", "二级", d, "310105004", False, False, (), False, False, 1.0),
        InstitutionSeed("CN-CDC", "上海市长宁区疾病预防控制中心", "cdc", None, d, "310105009", False, False, (), True, False, 0.3),
    ]
    for street, short in _CHC_STREETS.items():
        fever = street == "310105011"  # 北新泾 CHC is on the fever-clinic list
        out.append(InstitutionSeed(
            f"CN-CHC-{street[-3:]}", f"长宁区{short}社区卫生服务中心", "chc", "一级", d, street, fever, False,
            ("comprehensive",), False, True, 0.6,
        ))
    return out


def other_districts(district_codes: list[str]) -> list[InstitutionSeed]:
    """Each other district's CDC, plus the fever clinics the 2020 list places in it by name."""
    out = [InstitutionSeed(f"{code}-CDC", "", "cdc", None, code, None, False, False, (), True, False, 1.0)
           for code in district_codes if code != DEMO_DISTRICT]
    with (DATA / "shanghai_fever_clinics_2020.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            code = row["district_code_in_name"]
            if code and code != DEMO_DISTRICT and code in district_codes:
                out.append(InstitutionSeed(f"{code}-FC-{int(row['seq']):03d}", row["name"], "hospital", None, code,
                                           None, True, False, (), False, False, 2.0))
    return out
