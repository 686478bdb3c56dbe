"""Demo response capacity: ~20 teams, ~10 resource sites with stock, the duty roster."""
from __future__ import annotations

from dataclasses import dataclass

# (code, name, type, members, home institution code)
TEAMS: tuple[tuple[str, str, str, int, str], ...] = (
    ("CN-T-EPI-01", "区疾控流调一队", "epi", 6, "CN-CDC"),
    ("CN-T-EPI-02", "区疾控流调二队", "epi", 6, "CN-CDC"),
    ("CN-T-EPI-03", "区疾控流调三队", "epi", 5, "CN-CDC"),
    ("CN-T-EPI-04", "华阳街道流调小组", "epi", 4, "CN-CHC-001"),
    ("CN-T-EPI-05", "仙霞街道流调小组", "epi", 4, "CN-CHC-008"),
    ("CN-T-EPI-06", "程家桥街道流调小组", "epi", 4, "CN-CHC-010"),
    ("CN-T-EPI-07", "新泾镇流调小组", "epi", 5, "CN-CHC-102"),
    ("CN-T-EPI-08", "北新泾街道流调小组", "epi", 4, "CN-CHC-011"),
    ("CN-T-SMP-01", "区疾控采样检测一队", "sampling", 8, "CN-CDC"),
    ("CN-T-SMP-02", "区疾控采样检测二队", "sampling", 8, "CN-CDC"),
    ("CN-T-SMP-03", "同仁医院采样队", "sampling", 10, "CN-H-TR"),
    ("CN-T-SMP-04", "天山中医医院采样队", "sampling", 6, "CN-H-TS"),
    ("CN-T-SMP-05", "周家桥街道采样小组", "sampling", 5, "CN-CHC-005"),
    ("CN-T-DIS-01", "区疾控消杀一队", "disinfection", 5, "CN-CDC"),
    ("CN-T-DIS-02", "区疾控消杀二队", "disinfection", 5, "CN-CDC"),
    ("CN-T-DIS-03", "虹桥街道消杀小组", "disinfection", 4, "CN-CHC-009"),
    ("CN-T-DIS-04", "天山路街道消杀小组", "disinfection", 4, "CN-CHC-006"),
    ("CN-T-MED-01", "同仁医院医疗救治队", "treatment", 12, "CN-H-TR"),
    ("CN-T-MED-02", "海军第九〇五医院医疗救治队", "treatment", 10, "CN-H-905"),
    ("CN-T-MED-03", "上海电力医院医疗救治队", "treatment", 8, "CN-H-DL"),
)

# (code, name, kind, institution code or None)
SITES: tuple[tuple[str, str, str, str | None], ...] = (
    ("CN-R-01", "长宁区卫生应急物资储备库", "warehouse", None),
    ("CN-R-02", "区疾控中心物资库", "warehouse", "CN-CDC"),
    ("CN-R-03", "同仁医院应急物资库", "hospital_store", "CN-H-TR"),
    ("CN-R-04", "天山中医医院物资库", "hospital_store", "CN-H-TS"),
    ("CN-R-05", "上海电力医院物资库", "hospital_store", "CN-H-DL"),
    ("CN-R-06", "仙霞街道社区卫生服务中心物资点", "chc_store", "CN-CHC-008"),
    ("CN-R-07", "程家桥街道社区卫生服务中心物资点", "chc_store", "CN-CHC-010"),
    ("CN-R-08", "新泾镇社区卫生服务中心物资点", "chc_store", "CN-CHC-102"),
    ("CN-R-09", "华阳街道社区卫生服务中心物资点", "chc_store", "CN-CHC-001"),
    ("CN-R-10", "周家桥街道社区卫生服务中心物资点", "chc_store", "CN-CHC-005"),
)


@dataclass(frozen=True)
class Item:
    code: str
    name: str
    category: str
    unit: str
    base: int  # typical quantity at the main warehouse


ITEMS: tuple[Item, ...] = (
    Item("N95", "N95医用防护口罩", "防护用品", "只", 20000),
    Item("MASK", "医用外科口罩", "防护用品", "只", 50000),
    Item("SUIT", "医用防护服", "防护用品", "套", 3000),
    Item("GOGGLE", "护目镜", "防护用品", "副", 1500),
    Item("GLOVE", "医用检查手套", "防护用品", "副", 20000),
    Item("SWAB", "采样拭子及保存液", "采样检测", "份", 10000),
    Item("ANTIGEN", "抗原检测试剂", "采样检测", "人份", 8000),
    Item("PCR", "核酸检测试剂", "采样检测", "人份", 5000),
    Item("CHLOR", "含氯消毒剂", "消杀用品", "千克", 1200),
    Item("SPRAYER", "电动喷雾器", "消杀设备", "台", 40),
    Item("OSELT", "奥司他韦胶囊", "药品", "盒", 2000),
    Item("ORS", "口服补液盐", "药品", "袋", 3000),
)

DUTY_ROLES = ("值班领导", "总值班", "流调值班", "检验值班", "消杀值班")
