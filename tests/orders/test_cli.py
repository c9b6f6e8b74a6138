from __future__ import annotations

import pytest

from kefu.cli import main
from kefu.commands import build_parser
from kefu.orders import cli as orders_cli
from kefu.orders.models import Order


@pytest.fixture(autouse=True)
def _fresh_import_group(monkeypatch):
    # build_parser() registers the shared `import` group again; start from scratch each time.
    monkeypatch.setattr(orders_cli, "import_subparsers", None)


def test_import_orders_prints_progress_and_summary(shop, capsys):
    code = main(
        ["import", "orders", "tests/orders/fixtures/taobao_orders_gbk.csv", "--shop", "aurora"]
    )
    out, err = capsys.readouterr()
    # Some rows were rejected (the others stored): the documented exit code 3.
    assert code == 3
    assert "[##############################] 100%" in err
    # 9 rows = 4 created + 1 more line of one of them + 4 rejected.
    assert (
        "taobao_orders_gbk.csv: csv (gb18030), 9 rows -> created 4, updated 0, "
        "unchanged 0, merged 1, rejected 4"
    ) in out
    assert "  row 7: unknown order status '神秘状态'" in out
    assert Order.objects.filter(shop=shop).count() == 4


def test_map_option(shop, tmp_path, capsys):
    path = tmp_path / "erp.csv"
    path.write_text("Ref;Customer;State\nE-9;c-1;shipped\n", encoding="utf-8")
    code = main(
        [
            "import",
            "orders",
            str(path),
            "--shop",
            "aurora",
            "--quiet",
            "--map",
            "Ref=external_id,Customer=buyer_external_id,State=status",
        ]
    )
    assert code == 0
    assert Order.objects.get(external_id="E-9").status == "shipped"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["tests/orders/fixtures/photo_named.csv", "--shop", "aurora"],
            "kefu: error: photo_named.csv is not a spreadsheet (it looks like a PNG image)",
        ),
        (
            ["tests/orders/fixtures/notes.csv", "--shop", "aurora"],
            "kefu: error: no column for the order id",
        ),
        (
            ["tests/orders/fixtures/orders.jsonl", "--shop", "nope"],
            "kefu: error: no shop with slug 'nope'",
        ),
        (
            ["tests/orders/fixtures/orders.jsonl", "--shop", "aurora", "--map", "x=y"],
            "kefu: error: --map: unknown field 'y'",
        ),
        (
            ["tests/orders/fixtures/orders.jsonl", "--shop", "aurora", "--format", "xlsx"],
            "kefu: error: orders.jsonl is not XLSX",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(shop, capsys, args, message):
    code = main(["import", "orders", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines()[-1].startswith(message)
    assert not Order.objects.exists()


def test_the_import_group_is_shared():
    parser = build_parser()
    assert orders_cli.import_subparsers is not None
    # The conversations domain adds `kefu import messages` to the same group.
    assert set(orders_cli.import_subparsers.choices) >= {"orders", "messages"}
    assert parser.parse_args(["import", "orders", "x.csv", "--shop", "s"]).import_kind == "orders"
