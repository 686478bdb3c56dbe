"""The districts a 协查 request may go to: Shanghai's sixteen districts (GB/T 2260) and the city platform."""
from __future__ import annotations

CITY = "310000"
DISTRICTS: dict[str, str] = {
    "310101": "黄浦区", "310104": "徐汇区", "310105": "长宁区", "310106": "静安区", "310107": "普陀区",
    "310109": "虹口区", "310110": "杨浦区", "310112": "闵行区", "310113": "宝山区", "310114": "嘉定区",
    "310115": "浦东新区", "310116": "金山区", "310117": "松江区", "310118": "青浦区", "310120": "奉贤区",
    "310151": "崇明区", CITY: "市疾控",
}


def is_known(code: str) -> bool:
    return code in DISTRICTS


def name_of(code: str) -> str:
    return DISTRICTS.get(code, code)

