"""Every command that reads a file refuses non-UTF-8 input in one line naming the file (exit 2); BOM is fine."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.context import CliContext
from cli.main import cli
from cli.textfile import InputFileError, check_utf8, read_utf8

# Chinese text saved by Excel on a Chinese Windows: GB18030 / GBK bytes, invalid as UTF-8.
GB_TEXT = "code,name,kind,lon,lat\nH1,长宁区中心医院,hospital,121.42,31.22\n"
SERIES = "date,count\n" + "".join(f"2024-01-{d:02d},{d % 4}\n" for d in range(1, 29))
KEY_HEX = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8"


def _gb(tmp_path: Path, name: str, text: str = GB_TEXT, encoding: str = "gb18030") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _one_line_refusal(result, path: Path) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert str(path) in lines[0] and "not UTF-8" in lines[0]


COMMANDS = [
    ("import-regions", ["import", "regions", "--level", "street"], "regions.geojson",
     '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"code": "1", "name": "长宁"}, '
     '"geometry": null}]}'),
    ("import-institutions", ["import", "institutions"], "inst.csv", GB_TEXT),
    ("import-feed", ["import", "feed", "pharmacy_sales"], "sales.csv", "day,pharmacy,品类\n2024-01-01,药房,止泻\n"),
    ("import-roster", ["import", "roster"], "roster.csv", "day,duty_role,org_name,name,phone\n2024-01-01,值班,长宁,张三,1\n"),
    ("import-stock", ["import", "stock"], "stock.csv", "site_code,item_code,kind,quantity\nS1,口罩,in,5\n"),
    ("warn-series", ["warn", "series", "--model", "ears-c1"], "series.csv", SERIES + "2024-01-29,三\n"),
    ("warn-scan", ["warn", "scan"], "scan.csv", "region,lon,lat,date,count\n长宁,121.4,31.2,2024-01-01,1\n"),
    ("forecast-rt", ["forecast", "rt", "--si-distr", "SI"], "cases.csv", SERIES + "2024-01-29,三\n"),
    ("sign-challenge", ["sign-challenge", "--user", "u", "--challenge", "c", "--key-file"], "u.key", "密钥"),
]


@pytest.mark.parametrize("argv, name, text", [c[1:] for c in COMMANDS], ids=[c[0] for c in COMMANDS])
def test_gb18030_file_is_refused_in_one_line(settings, tmp_path: Path, argv, name, text) -> None:  # type: ignore[no-untyped-def]
    from feeds.schemas import FEED_KINDS

    if argv[:2] == ["import", "feed"]:
        argv = [*argv[:2], FEED_KINDS[0]]
    path = _gb(tmp_path, name, text)
    si = tmp_path / "si.csv"
    si.write_text("k,p\n0,0\n1,0.5\n2,0.5\n", encoding="utf-8")
    argv = [str(si) if a == "SI" else a for a in argv]
    result = CliRunner().invoke(cli, [*argv, str(path)], obj=CliContext(settings=settings))
    _one_line_refusal(result, path)


def test_rt_si_file_in_gbk_is_refused(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    si = _gb(tmp_path, "si.csv", "k,p\n0,0\n1,1\n# 序列间隔\n", "gbk")
    cases = tmp_path / "cases.csv"
    cases.write_text(SERIES, encoding="utf-8")
    result = CliRunner().invoke(cli, ["forecast", "rt", "--si-distr", str(si), str(cases)],
                                obj=CliContext(settings=settings))
    _one_line_refusal(result, si)


def test_utf8_with_bom_is_read_like_without(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    outputs = []
    for bom in (b"", b"\xef\xbb\xbf"):
        path = tmp_path / f"series{len(bom)}.csv"
        path.write_bytes(bom + SERIES.encode("utf-8"))
        result = CliRunner().invoke(cli, ["warn", "series", "--model", "ears-c1", str(path)],
                                    obj=CliContext(settings=settings))
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    assert outputs[0] == outputs[1] and outputs[0].startswith("date,observed,threshold,alarm\n")


def test_read_utf8_names_byte_and_line(tmp_path: Path) -> None:
    path = _gb(tmp_path, "x.csv", "a,b\n1,2\n3,长\n", "gbk")
    with pytest.raises(InputFileError) as err:
        read_utf8(path)
    assert err.value.exit_code == 2
    assert f"{path}: not UTF-8 text (byte 0xb3 at offset 10, line 3)" in err.value.message
    ok = tmp_path / "ok.csv"
    ok.write_bytes(b"\xef\xbb\xbf" + "长宁,1\n".encode())
    assert read_utf8(ok) == "长宁,1\n"


def test_check_utf8_leaves_binary_formats_alone(tmp_path: Path) -> None:
    gpkg = tmp_path / "regions.gpkg"
    gpkg.write_bytes(b"SQLite format 3\x00\xff\xfe\xb3")
    assert check_utf8(gpkg) == gpkg
    with pytest.raises(InputFileError):
        check_utf8(_gb(tmp_path, "regions.geojson", '{"name": "长宁"}'))
