"""The script of the demo's 流调 story (issue 20): what happens when, relative to the demo's last day.

Plain data, no database: `demo.fieldwork_story` plays it through the fieldwork domain functions. Every time
is Beijing time on a day counted back from the reference date `end`, so the story reads the same whatever
day the demo ends on, and every time lies in the past when the story runs (the last is the day before `end`).

The 7-1-7 figures the script leads to (checked by hand in tests/demo/test_fieldwork_story.py):
emergence end−11 (the outbreak's first onset) → raised end−6 (5 days, met) → reported end−4 (2 days, missed)
→ last early-response milestone end−1 (3 days, met).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from demo.outbreaks import OUTBREAKS, Outbreak
from demo.persons import id_number
from geo.dates import CST

OUTBREAK: Outbreak = OUTBREAKS[0]  # 仙霞新村街道: diarrhoea around a kindergarten, the current one
SOURCE_ID = "demo-story:xianxia-diarrhoea"
INVESTIGATOR = "区疾控流调一组 王建国"


def at(end: date, days_before: int, hour: int, minute: int = 0) -> datetime:
    """A Beijing time `days_before` days before `end`."""
    return datetime.combine(end - timedelta(days=days_before), time(hour, minute), tzinfo=CST)


def emergence(end: date) -> date:
    """The first onset of the planted outbreak (its cases start `starts_days_before_end` days before the end)."""
    return end - timedelta(days=OUTBREAK.starts_days_before_end)


@dataclass(frozen=True)
class Clock:
    """When each step of the story happened."""

    raised: datetime
    verifying: datetime
    reported: datetime  # 'suspected': verified and reported (7-1-7 notification)
    confirmed: datetime
    responding: datetime
    investigation_started: datetime
    samples_taken: datetime
    contacts_listed: datetime
    traced_first: datetime  # the first nine are traced half an hour apart from here
    observing: datetime
    traced_rest: datetime  # the last three, half an hour apart
    became_case: tuple[datetime, datetime]
    control_measures: datetime
    contacts_traced: datetime
    communication: datetime


def clock(end: date) -> Clock:
    return Clock(raised=at(end, 6, 9, 30), verifying=at(end, 6, 10, 30), reported=at(end, 4, 10),
                 confirmed=at(end, 4, 16), responding=at(end, 4, 17), investigation_started=at(end, 4, 11),
                 samples_taken=at(end, 4, 15), contacts_listed=at(end, 4, 18), traced_first=at(end, 3, 9),
                 observing=at(end, 3, 20), traced_rest=at(end, 2, 10),
                 became_case=(at(end, 1, 9), at(end, 1, 9, 30)), control_measures=at(end, 3, 12),
                 contacts_traced=at(end, 2, 11), communication=at(end, 1, 10))


def places(end: date) -> list[dict[str, Any]]:
    """The three exposure places; the canteen comes from a phone map app in GCJ-02 (converted at intake)."""
    return [
        {"name": "仙霞路幼儿园（中班教室）", "kind": "school", "lon": 121.3885, "lat": 31.2092,
         "start_time": at(end, 9, 8), "end_time": at(end, 7, 17), "note": "病例集中的班级"},
        {"name": "社区长者食堂", "kind": "public", "lon": 121.395146, "lat": 31.205951, "crs": "GCJ-02",
         "start_time": at(end, 8, 11), "end_time": at(end, 8, 13), "note": "坐标取自手机地图（GCJ-02）"},
        {"name": "病例家庭聚餐", "kind": "home", "lon": 121.3868, "lat": 31.2101,
         "start_time": at(end, 8, 18), "end_time": at(end, 8, 21)},
    ]


# (record id, degree, street, lon, lat, days before end of the last exposure)
_CONTACTS = (
    ("C01", "close", "310105008", 121.3880, 31.2095, 7), ("C02", "close", "310105008", 121.3890, 31.2088, 7),
    ("C03", "close", "310105008", 121.3872, 31.2099, 7), ("C04", "close", "310105008", 121.3899, 31.2083, 8),
    ("C05", "close", "310105008", 121.3908, 31.2077, 8), ("C06", "close", "310105008", 121.3866, 31.2102, 8),
    ("C07", "close", "310105006", 121.4080, 31.2085, 8), ("C08", "close", "310105006", 121.4072, 31.2090, 7),
    ("C09", "secondary", "310105010", 121.3680, 31.1960, 7), ("C10", "secondary", "310105010", 121.3690, 31.1955, 7),
    ("C11", "secondary", "310105011", 121.3780, 31.2200, 7), ("C12", "secondary", "310105008", 121.3885, 31.2090, 7),
)
_NAMES = ("陈小宇", "李思涵", "王子轩", "张雨婷", "刘梓涵", "杨一诺", "赵欣怡", "黄佳", "周明", "吴芳", "徐磊", "孙丽")
OBSERVED = ("C01", "C02", "C03", "C04", "C07")  # put under medical observation on the first day of tracing
FIRST_TRACED = ("C01", "C02", "C03", "C04", "C05", "C06", "C07", "C08", "C09")
BECOME_CASES = ("C01", "C02")  # under observation, they fall ill and become cases


def contacts(end: date) -> list[dict[str, Any]]:
    """The twelve contacts as listed (all 待追踪), with streets and points in WGS84."""
    rows = []
    for i, (rid, degree, street, lon, lat, days) in enumerate(_CONTACTS):
        birth = date(2019 if degree == "close" else 1988, 1 + i, 10 + i)
        rows.append({"record_id": rid, "degree": degree, "name": _NAMES[i],
                     "id_number": id_number("310105", birth, 700 + i, i % 2 == 1), "phone": f"1390000{i:04d}",
                     "last_exposure_date": end - timedelta(days=days), "street": street, "lon": lon, "lat": lat})
    return rows


def samples(end: date) -> list[dict[str, Any]]:
    return [{"sample_no": f"XX-{i + 1:03d}", "kind": kind, "subject": subject, "taken_at": at(end, 4, 15 + i)}
            for i, (kind, subject) in enumerate((("肛拭子", "病例"), ("粪便", "病例"), ("环境涂抹", "幼儿园厨房")))]


SUMMARY = ("仙霞新村街道幼儿园诺如病毒感染聚集性疫情：流调确认暴露场所3处，判定密切接触者及次密接12人，"
           "全部追踪到位，其中2人转为病例；班级停课、环境消毒、风险沟通均已落实，疫情得到控制。")
EFFECTIVENESS = "发现及时（5天），早期响应3天内完成；核实报告用时2天，超过1天目标。"
LESSONS = "夜间核实力量不足导致报告延迟，建议完善值班核实流程；托幼机构晨午检需加强。"
REVIEW_NOTE = "同意评价意见，闭环完成。"
