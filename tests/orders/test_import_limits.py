"""Import limits (issue 10 item 3): a zip bomb, an oversized file, too many rows, absurd
dimensions and overlong cells are refused with a reason before anything is stored, and the
process reading them stays small."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from kefu.core.tabular import ImportFileError
from kefu.orders.importers.run import import_orders
from kefu.orders.models import Order
from tests.migrated import KEFU, embedded_env, migrated_sqlite

HEADER = "订单编号,买家会员名,订单状态,总金额,订单付款时间,宝贝标题,商品ID,宝贝总数量,物流单号"
ROW = "{n},buyer-{n},交易成功,10.00,2024-11-11 10:00:00,Lamp,P-1,1,"

_OOXML = "http://schemas.openxmlformats.org"
_REL = f"{_OOXML}/officeDocument/2006/relationships"
_PKG_REL = f"{_OOXML}/package/2006/relationships"
_MAIN = f"{_OOXML}/spreadsheetml/2006/main"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
_CONTENT_TYPES = (
    f'{_XML}<Types xmlns="{_OOXML}/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/>'
    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT}.sharedStrings+xml"/>'
    "</Types>"
)
_RELS = (
    f'{_XML}<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
    '<sheets><sheet name="Orders" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    f'{_XML}<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
_SHEET_HEAD = (
    f'{_XML}<worksheet xmlns="{_MAIN}">'
    "{dimension}<sheetData>"
    '<row r="1"><c r="A1" t="inlineStr"><is><t>订单编号</t></is></c>'
    '<c r="B1" t="inlineStr"><is><t>买家会员名</t></is></c></row>'
)
_SHEET_TAIL = "</sheetData></worksheet>"


def _inline_row(n: int) -> str:
    return (
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>X-{n}</t></is></c>'
        f'<c r="B{n}" t="inlineStr"><is><t>b-{n}</t></is></c></row>'
    )


def write_xlsx(
    path: Path,
    *,
    rows: int = 1,
    repeat: tuple[str, int] | None = None,
    shared: tuple[str, int] | None = None,
    dimension: str = "",
    cell: str = "",
) -> Path:
    """A workbook written part by part, so a bomb's repeated XML is streamed into the
    compressor and never held whole in the test's memory either."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            head = _SHEET_HEAD.format(
                dimension=f'<dimension ref="{dimension}"/>' if dimension else ""
            )
            sheet.write(head.encode())
            for n in range(2, rows + 2):
                sheet.write(_inline_row(n).encode())
            if cell:
                sheet.write(f'<row><c t="inlineStr"><is><t>{cell}</t></is></c></row>'.encode())
            if repeat:
                text, times = repeat
                block = (text * 1000).encode()
                for _ in range(times // 1000):
                    sheet.write(block)
            sheet.write(_SHEET_TAIL.encode())
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as strings:
            strings.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            )
            if shared:
                text, times = shared
                block = (text * 1000).encode()
                for _ in range(times // 1000):
                    strings.write(block)
            strings.write(b"</sst>")
    return path


def zip_bomb(path: Path) -> Path:
    """About 1 MB on disk, 300 MB of shared strings once unzipped (openpyxl keeps them all)."""
    return write_xlsx(path, shared=("<si><t>abcdefghij</t></si>", 12_000_000))


def test_a_generated_workbook_without_limits_problems_imports(shop, tmp_path):
    path = write_xlsx(tmp_path / "fine.xlsx", rows=3, dimension="A1:B4")

    summary = import_orders(shop=shop, path=path)

    assert (summary.rows, summary.created, summary.rejected) == (3, 3, 0)


def test_a_zip_bomb_is_refused_before_openpyxl_reads_it(shop, tmp_path):
    path = zip_bomb(tmp_path / "bomb.xlsx")
    assert path.stat().st_size < 2 * 2**20

    with pytest.raises(
        ImportFileError, match=r"bomb\.xlsx unzips to 2\d\d MB; the limit is 200 MB"
    ):
        import_orders(shop=shop, path=path)
    assert not Order.objects.exists()


def test_a_part_compressed_far_beyond_any_spreadsheet_is_refused(shop, tmp_path, settings):
    # Under the unzipped limit, but 40 MB of one repeated row packs a thousandfold.
    path = write_xlsx(tmp_path / "dense.xlsx", repeat=(_inline_row(9), 400_000))

    with pytest.raises(ImportFileError, match="unzips to far more data than a spreadsheet"):
        import_orders(shop=shop, path=path)
    assert not Order.objects.exists()


def test_too_many_rows_are_refused_before_any_is_stored(shop, tmp_path, settings):
    settings.KEFU_IMPORT_MAX_ROWS = 5
    declared = write_xlsx(tmp_path / "declared.xlsx", rows=3, dimension="A1:B1048576")
    counted = write_xlsx(tmp_path / "counted.xlsx", rows=6)
    csv = tmp_path / "long.csv"
    csv.write_text("\n".join([HEADER, *(ROW.format(n=n) for n in range(6))]) + "\n")

    for path in (declared, counted, csv):
        with pytest.raises(ImportFileError, match="has more than 5 rows; split it"):
            import_orders(shop=shop, path=path)
    assert not Order.objects.exists()

    csv.write_text("\n".join([HEADER, *(ROW.format(n=n) for n in range(5))]) + "\n")
    assert import_orders(shop=shop, path=csv).created == 5


def test_absurdly_wide_dimensions_are_refused(shop, tmp_path):
    path = write_xlsx(tmp_path / "wide.xlsx", rows=1, dimension="A1:XFD2")

    with pytest.raises(ImportFileError, match=r"wide\.xlsx has 16384 columns; the limit is 500"):
        import_orders(shop=shop, path=path)


def test_a_cell_too_long_to_be_a_cell_is_refused_in_a_workbook(shop, tmp_path):
    path = write_xlsx(tmp_path / "cell.xlsx", rows=1, cell="x" * 900_000)

    with pytest.raises(ImportFileError, match="holds a cell longer than 10000 characters"):
        import_orders(shop=shop, path=path)
    assert not Order.objects.exists()


def test_a_long_cell_rejects_its_row_in_every_reader(shop, tmp_path, settings):
    settings.KEFU_IMPORT_MAX_CELL_CHARS = 50
    long_title = "灯" * 51
    csv = tmp_path / "orders.csv"
    csv.write_text(
        "\n".join(
            [
                HEADER,
                ROW.format(n=1),
                f"2,buyer-2,交易成功,10.00,2024-11-11 10:00:00,{long_title},P-1,1,",
            ]
        )
        + "\n"
    )
    jsonl = tmp_path / "orders.jsonl"
    jsonl.write_text(
        '{"external_id": "J-1", "buyer_external_id": "b", "status": "paid"}\n'
        '{"external_id": "J-2", "buyer_external_id": "b", "status": "paid", '
        f'"buyer_message": "{long_title}"}}\n'
    )
    xlsx = write_xlsx(tmp_path / "orders.xlsx", rows=1, cell="y" * 60)

    huge = tmp_path / "huge-cell.csv"
    huge.write_text(
        "\n".join(
            [
                HEADER,
                f"3,buyer-3,交易成功,10.00,2024-11-11 10:00:00,{'x' * 200_000},P-1,1,",
                ROW.format(n=4),
            ]
        )
        + "\n"
    )

    csv_summary = import_orders(shop=shop, path=csv)
    huge_summary = import_orders(shop=shop, path=huge)
    jsonl_summary = import_orders(shop=shop, path=jsonl)
    xlsx_summary = import_orders(shop=shop, path=xlsx)

    assert csv_summary.rejections == [
        (3, "the cell in column 宝贝标题 has 51 characters; the limit is 50")
    ]
    # Past what the csv module reads as one cell: the row is rejected, the next one stored.
    assert huge_summary.rejections == [(2, "a cell in this row has more than 50 characters")]
    assert jsonl_summary.rejections == [(2, "buyer_message is longer than 50 characters")]
    assert xlsx_summary.rejections == [
        (3, "the cell in column 订单编号 has 60 characters; the limit is 50")
    ]
    assert set(Order.objects.values_list("external_id", flat=True)) == {"1", "4", "J-1", "X-2"}


def test_an_oversized_file_is_refused_by_its_size(shop, tmp_path, settings):
    settings.KEFU_IMPORT_MAX_UPLOAD_BYTES = 2**20
    path = tmp_path / "big.csv"
    with path.open("w") as out:
        out.write(HEADER + "\n")
        for n in range(30_000):
            out.write(ROW.format(n=n) + "\n")

    with pytest.raises(ImportFileError, match=r"big\.csv is 2 MB; the limit is 1 MB"):
        import_orders(shop=shop, path=path)
    assert not Order.objects.exists()


# `kefu` run in a fresh interpreter that reports its own peak resident size when it ends:
# VmHWM counts this process since exec only, while getrusage/wait4 would also count the
# pages of the (large) pytest process it was forked from.
_MEASURED_KEFU = """
import resource, sys
# A regression must fail the test, not take the machine down with it.
resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
from kefu.cli import main
try:
    code = main(sys.argv[1:])
finally:
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM"))
    sys.stderr.write(f"\\npeak-kib {peak}\\n")
sys.exit(code)
"""


def _kefu_peak(args: list[str], env: dict[str, str]) -> tuple[int, str, float]:
    """Run `kefu ARGS`; its exit code, its last stderr line before the peak and the peak in MB."""
    done = subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-c", _MEASURED_KEFU, *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
        check=False,
    )
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("peak-kib "), done.stderr[-2000:]
    last = lines[-2] if len(lines) > 1 else ""
    return done.returncode, last, int(lines[-1].split()[1]) / 1024


@pytest.fixture(scope="module")
def kefu_env(tmp_path_factory) -> dict[str, str]:
    """An installation of its own (embedded SQLite) with one shop, as `kefu` sees it."""
    data_dir = tmp_path_factory.mktemp("limits")
    env = embedded_env(data_dir)
    env["KEFU_IMPORT_MAX_UPLOAD_BYTES"] = str(4 * 2**20)
    migrated_sqlite(data_dir, env)
    create = ["shop", "create", "--name", "Limits", "--platform", "taobao", "--slug", "limits"]
    done = subprocess.run(  # noqa: S603 - our own command
        [str(KEFU), *create],
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return env


def test_the_command_refuses_a_zip_bomb_and_an_oversized_csv_with_little_memory(kefu_env, tmp_path):
    bomb = zip_bomb(tmp_path / "bomb.xlsx")
    big = tmp_path / "big.csv"
    with big.open("w") as out:
        out.write(HEADER + "\n")
        for n in range(80_000):
            out.write(ROW.format(n=n) + "\n")
    assert big.stat().st_size > 4 * 2**20

    for path, reason in (
        (bomb, "bomb.xlsx unzips to 298 MB; the limit is 200 MB"),
        (big, "big.csv is 5 MB; the limit is 4 MB"),
    ):
        code, err, peak_mb = _kefu_peak(
            ["import", "orders", str(path), "--shop", "limits", "--quiet"], kefu_env
        )
        assert (code, err[: len("kefu: error: ") + len(reason)]) == (2, f"kefu: error: {reason}")
        # Django and the domains loaded cost about 160 MB; the file adds nothing to speak of.
        assert peak_mb < 300, f"{path.name}: peak {peak_mb:.0f} MB"
