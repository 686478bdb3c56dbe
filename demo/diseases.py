"""The notifiable diseases of the demo, with the rates and seasons used to synthesise cases.

Rates are per 100,000 per year, of the order Shanghai reports; seasons are peaks on the day of year.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DiseaseSpec:
    code: str
    name: str
    name_en: str
    klass: str  # 甲 乙 丙
    category: str
    rate: float = 0.0  # cases per 100,000 per year
    # (day of year of the peak, width in days, relative height); none = flat
    peaks: tuple[tuple[int, int, float], ...] = ()
    ages: tuple[int, int] = (0, 90)  # age range of most cases
    cfr: float = 0.0
    single_case: bool = False
    alias: tuple[str, ...] = field(default=())


DISEASES: tuple[DiseaseSpec, ...] = (
    # 甲类 and the single-case warning list: no background cases, a case fires at once.
    DiseaseSpec("plague", "鼠疫", "Plague", "甲", "vector", single_case=True),
    DiseaseSpec("cholera", "霍乱", "Cholera", "甲", "intestinal", single_case=True),
    DiseaseSpec("sars", "传染性非典型肺炎", "SARS", "乙", "respiratory", single_case=True, alias=("非典",)),
    DiseaseSpec("polio", "脊髓灰质炎", "Poliomyelitis", "乙", "vaccine", single_case=True),
    DiseaseSpec("hpai", "人感染高致病性禽流感", "Human HPAI", "乙", "respiratory", single_case=True,
                alias=("禽流感", "H7N9", "H5N1")),
    DiseaseSpec("anthrax_pulm", "肺炭疽", "Pulmonary anthrax", "乙", "zoonotic", single_case=True, alias=("炭疽",)),
    DiseaseSpec("diphtheria", "白喉", "Diphtheria", "乙", "vaccine", single_case=True),
    DiseaseSpec("pneumonia_unknown", "不明原因肺炎", "Pneumonia of unknown cause", "其他", "respiratory",
                single_case=True),
    # 乙类
    DiseaseSpec("covid19", "新型冠状病毒感染", "COVID-19", "乙", "respiratory", 60, ((200, 30, 2.0), (15, 35, 1.5)),
                (20, 90), 0.002, alias=("新冠",)),
    DiseaseSpec("hbv", "乙型病毒性肝炎", "Hepatitis B", "乙", "blood", 18, (), (25, 70), 0.001, alias=("乙肝",)),
    DiseaseSpec("hcv", "丙型病毒性肝炎", "Hepatitis C", "乙", "blood", 5, (), (30, 75)),
    DiseaseSpec("hev", "戊型病毒性肝炎", "Hepatitis E", "乙", "intestinal", 3, ((80, 40, 0.6),), (35, 80)),
    DiseaseSpec("tb", "肺结核", "Pulmonary tuberculosis", "乙", "respiratory", 25, ((90, 45, 0.3),), (18, 85), 0.004,
                alias=("结核",)),
    DiseaseSpec("syphilis", "梅毒", "Syphilis", "乙", "sexual", 30, (), (20, 70)),
    DiseaseSpec("gonorrhea", "淋病", "Gonorrhoea", "乙", "sexual", 9, (), (20, 50)),
    DiseaseSpec("hiv", "艾滋病", "HIV/AIDS", "乙", "sexual", 5, (), (20, 65), 0.02),
    DiseaseSpec("scarlet_fever", "猩红热", "Scarlet fever", "乙", "respiratory", 6, ((140, 30, 1.5), (340, 30, 1.2)),
                (3, 10)),
    DiseaseSpec("dysentery", "细菌性和阿米巴性痢疾", "Dysentery", "乙", "intestinal", 1.2, ((215, 35, 2.0),), (0, 80),
                alias=("痢疾",)),
    DiseaseSpec("pertussis", "百日咳", "Pertussis", "乙", "vaccine", 4, ((170, 50, 1.5),), (0, 12), alias=("百日咳",)),
    DiseaseSpec("measles", "麻疹", "Measles", "乙", "vaccine", 0.2, ((110, 40, 2.0),), (0, 40)),
    DiseaseSpec("typhoid", "伤寒和副伤寒", "Typhoid and paratyphoid", "乙", "intestinal", 0.3, ((220, 40, 1.0),), (10, 70)),
    DiseaseSpec("dengue", "登革热", "Dengue", "乙", "vector", 1.0, ((260, 30, 6.0),), (18, 70)),
    DiseaseSpec("malaria", "疟疾", "Malaria", "乙", "vector", 0.3, (), (20, 60)),
    DiseaseSpec("brucellosis", "布鲁氏菌病", "Brucellosis", "乙", "zoonotic", 0.1, ((150, 60, 0.8),), (30, 70)),
    # 丙类
    DiseaseSpec("influenza", "流行性感冒", "Influenza", "丙", "respiratory", 600,
                ((20, 25, 8.0), (355, 20, 5.0), (200, 25, 1.2)), (0, 90), 0.0001, alias=("流感",)),
    DiseaseSpec("hfmd", "手足口病", "Hand, foot and mouth disease", "丙", "intestinal", 90,
                ((160, 30, 3.0), (290, 25, 1.5)), (1, 6), alias=("手足口",)),
    DiseaseSpec("diarrhoea", "其它感染性腹泻病", "Other infectious diarrhoea", "丙", "intestinal", 80,
                ((205, 35, 1.2), (10, 30, 1.0)), (0, 90), alias=("腹泻", "诺如", "诺如病毒")),
    DiseaseSpec("mumps", "流行性腮腺炎", "Mumps", "丙", "vaccine", 5, ((120, 40, 0.8),), (3, 15), alias=("腮腺炎",)),
    DiseaseSpec("ahc", "急性出血性结膜炎", "Acute haemorrhagic conjunctivitis", "丙", "contact", 1.0,
                ((250, 30, 2.0),), (5, 60), alias=("红眼病",)),
    DiseaseSpec("rubella", "风疹", "Rubella", "丙", "vaccine", 0.2, ((120, 40, 1.0),), (5, 30)),
)

BY_CODE = {d.code: d for d in DISEASES}
