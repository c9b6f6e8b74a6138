import json

import pytest

from kefu import cli
from kefu.orders import cli as orders_cli


@pytest.fixture(autouse=True)
def _restore_import_group(monkeypatch):
    monkeypatch.setattr(orders_cli, "import_subparsers", orders_cli.import_subparsers)


def main(argv):
    # kefu.orders.cli keeps its `import` group in a module global; each run builds a new parser.
    orders_cli.import_subparsers = None
    return cli.main(argv)


def test_check_prints_verdict_and_findings(capsys):
    assert main(["compliance", "check", "--platform", "tmall", "我们不開發票"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("verdict: block")
    assert "invoice (R-22) span 2-6: '不開發票'" in out
    assert "instead:" in out


def test_json_shape(capsys):
    code = main(["compliance", "check", "--json", "--free-shipping", "新疆要补10元邮费，加我微信"])
    assert code == 0
    body = json.loads(capsys.readouterr().out)
    assert body["verdict"] == "block"
    assert [f["code"] for f in body["findings"]] == ["free_shipping", "off_platform"]
    first = body["findings"][0]
    assert first["span"] == [0, 9]
    assert first["severity"] == "block"
    assert set(first) >= {"code", "severity", "span", "match", "explanation", "alternative"}


def test_ok_and_warn_exit_zero(capsys):
    assert main(["compliance", "check", "--json", "Invoice is available."]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "verdict": "ok",
        "platform": "taobao",
        "pack_version": "taobao-2026.1",
        "findings": [],
    }
    assert main(["compliance", "check", "--json", "It's the courier's fault."]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "warn"


def test_recipient_flag_turns_on_privacy(capsys):
    text = "The phone on the order is 13812345678"
    main(["compliance", "check", "--json", text])
    assert json.loads(capsys.readouterr().out)["verdict"] == "ok"
    main(["compliance", "check", "--json", "--recipient-not-buyer", text])
    assert json.loads(capsys.readouterr().out)["findings"][0]["code"] == "privacy"


def test_file_prints_a_summary(tmp_path, capsys):
    path = tmp_path / "messages.jsonl"
    lines = [
        {"text": "可以开发票", "expected": []},
        {"text": "我们不开发票", "expected": ["invoice"]},
        {"text": "加我微信", "label": "spam", "expected": ["off_platform"]},
        {"text": "新疆要补邮费", "context": {"free_shipping": True}, "expected": []},
    ]
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n")
    assert main(["compliance", "check", "--file", str(path)]) == 0
    out = capsys.readouterr().out
    assert "checked 4: ok 1, warn 0, block 3" in out
    assert "line 4: block free_shipping" in out
    assert main(["compliance", "check", "--json", "--file", str(path)]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["checked"] == 4
    assert body["codes"] == {"free_shipping": 1, "invoice": 1, "off_platform": 1}
    scores = {row["code"]: row for row in body["scores"]}
    assert scores["free_shipping"]["precision"] == 0.0
    assert scores["invoice"]["recall"] == 1.0
    assert [r["line"] for r in body["results"]] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"text": "ok"}\n{"text": \n', "messages.jsonl:2: not valid JSON"),
        ('{"text": "ok"}\n["x"]\n', 'messages.jsonl:2: expected an object with a "text"'),
        ('{"text": 5}\n', "messages.jsonl:1: expected"),
        ('{"text": "x", "context": {"colour": 1}}\n', "messages.jsonl:1: bad context"),
        ('{"text": "x", "platform": "ebay"}\n', "messages.jsonl:1: unknown platform"),
    ],
)
def test_bad_file_lines_exit_2_with_line_number(tmp_path, capsys, content, message):
    path = tmp_path / "messages.jsonl"
    path.write_text(content)
    assert main(["compliance", "check", "--file", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_missing_file_and_missing_text_exit_2(tmp_path, capsys):
    assert main(["compliance", "check", "--file", str(tmp_path / "none.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["compliance", "check"]) == 2
    assert main(["compliance", "check", "--file", "x.jsonl", "text"]) == 2
    assert main(["compliance", "check", "   "]) == 2


def test_shipping_policy_option(capsys):
    text = "新疆要补15元运费哦"
    assert main(["compliance", "check", "--json", "--shipping-policy", "free", text]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "block"
    assert main(["compliance", "check", "--json", "--shipping-policy", "none", text]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "ok"
    page = "新疆地区请按商品页面标注的运费支付"
    argv = ["compliance", "check", "--json", "--shipping-policy", "free-except:新疆,西藏", page]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "ok"
    assert main(["compliance", "check", "--shipping-policy", "free", page]) == 0
    assert capsys.readouterr().out.startswith("verdict: block")


def test_bad_shipping_policy_is_refused(capsys):
    assert main(["compliance", "check", "--shipping-policy", "sometimes", "hi"]) != 0
    assert "--shipping-policy" in capsys.readouterr().err
