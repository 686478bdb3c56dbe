"""File importers: a malformed file is refused with row and reason and nothing is written; good files upsert."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from cli.context import CliContext
from cli.main import cli
from feeds.importers import FeedImportRejected, import_rows, read_rows

CST = timezone(timedelta(hours=8))
DAY = (datetime.now(CST).date() - timedelta(days=2)).isoformat()


def _count(services, sql, **p):  # type: ignore[no-untyped-def]
    with services.session_factory() as s:
        return s.execute(text(sql), p).scalar()


def _scalar(db, sql, **p):  # type: ignore[no-untyped-def]
    """`sql`'s value inside the test's own (rolled-back) transaction."""
    return db.execute(text(sql), p).scalar()


def _csv(w, tag: str, bad_line: str | None = None) -> str:  # type: ignore[no-untyped-def]
    lines = ["school_code,day,enrolled,absent,absent_ill,fever,respiratory,gastrointestinal,rash,school_name,school_kind,region_code",
             f"I{tag}1,{DAY},300,10,5,1,2,2,0,测试一小,primary,{w.streets[0]}",
             f"I{tag}2,{DAY},500,20,9,3,3,1,1,测试二中,middle,{w.streets[1]}"]
    if bad_line:
        lines.append(bad_line)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("bad_line, row, field, code", [
    ("I{t}3,{d},300,301,5,0,0,0,0,测试三小,primary,{s}", 4, "absent", "invalid.absent_exceeds_enrolled"),
    ("I{t}3,2024-13-40,300,10,5,0,0,0,0,测试三小,primary,{s}", 4, "day", "invalid.date_from_datetime_parsing"),
    ("I{t}3,{d},many,10,5,0,0,0,0,测试三小,primary,{s}", 4, "enrolled", "invalid.int_parsing"),
    ("I{t}3,{d},300,10,5,0,0,0,0,测试三小,primary,{s},extra", 4, None, "file.extra_cells"),
    ("I{t}3,{d},300,10,5,0,0,0,0,,,", 4, "school_code", "ref.unknown_school"),
])
def test_bad_csv_row_is_named_and_nothing_is_written(db, fworld, bad_line, row, field, code):  # type: ignore[no-untyped-def]
    tag = fworld.tag + code[-4:]
    data = _csv(fworld, tag, bad_line.format(t=tag, d=DAY, s=fworld.streets[0]))
    with pytest.raises(FeedImportRejected) as exc:
        import_rows(db, kind="school_absence", rows=read_rows(data, fmt="csv"))
    db.commit()
    err = exc.value.errors[0]
    assert (err.row, err.field, err.code) == (row, field, code)
    assert err.message_zh
    assert _scalar(db, "SELECT count(*) FROM school WHERE code LIKE :p", p=f"I{tag}%") == 0
    assert _scalar(db, "SELECT count(*) FROM school_absence WHERE source_id LIKE :p", p=f"edu:I{tag}%") == 0


def test_good_csv_then_json_reimport_is_idempotent(db, fworld):  # type: ignore[no-untyped-def]
    tag = fworld.tag + "ok"
    report = import_rows(db, kind="school_absence", rows=read_rows(_csv(fworld, tag), fmt="csv"))
    db.commit()
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    assert {c.fields["school_code"] for c in report.changes} == {f"I{tag}1", f"I{tag}2"}
    records = [{"school_code": f"I{tag}1", "day": DAY, "enrolled": 300, "absent": 10, "absent_ill": 5, "fever": 1,
                "respiratory": 2, "gastrointestinal": 2}]
    report = import_rows(db, kind="school_absence", rows=read_rows(json.dumps({"records": records}), fmt="json"))
    db.commit()
    assert (report.created, report.updated, report.unchanged) == (0, 0, 1)


def test_json_weather_refused_by_reference_writes_nothing(db, fworld):  # type: ignore[no-untyped-def]
    records = [{"district_code": fworld.other_district, "day": DAY, "temp_mean": 8.0},
               {"district_code": "999999", "day": DAY, "temp_mean": 8.0}]
    with pytest.raises(FeedImportRejected) as exc:
        import_rows(db, kind="weather_daily", rows=read_rows(json.dumps(records), fmt="json"))
    db.commit()
    assert [(e.row, e.field, e.code) for e in exc.value.errors] == [(2, "district_code", "ref.unknown_district")]
    assert _scalar(db, "SELECT count(*) FROM weather_daily WHERE district_code = :d", d=fworld.other_district) == 0


def test_cli_import_feed(services, settings, fworld, tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "opinion.csv"
    path.write_text("item_id,published_at,source,title,keywords,place\n"
                    f"cli-{fworld.tag},{DAY} 09:30,论坛,{fworld.aliases[0]}附近道路施工,道路;施工,{fworld.aliases[0]}\n",
                    encoding="utf-8")
    runner = CliRunner()
    ok = runner.invoke(cli, ["import", "feed", "opinion_item", str(path)], obj=CliContext(settings=settings))
    assert ok.exit_code == 0, ok.output
    assert "1 created" in ok.output
    assert _count(services, "SELECT region_code FROM opinion_item WHERE source_id = :s",
                  s=f"opinion:cli-{fworld.tag}") == fworld.streets[0]
    bad = tmp_path / "bad.csv"
    bad.write_text("item_id,published_at,source,title\nx y,2020-01-01,论坛,t\n", encoding="utf-8")
    refused = runner.invoke(cli, ["import", "feed", "opinion_item", str(bad)], obj=CliContext(settings=settings))
    assert refused.exit_code != 0 and "row 2: item_id" in refused.output
