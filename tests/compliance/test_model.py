"""The n-gram model behind the rules: it warns where the rules were silent, says why, and keeps
compliant replies ok (issue 14: "it may decide only together with an explanation a seller can
read")."""

import json
import os
import subprocess
import sys

import pytest

from kefu.compliance import model, prescan
from kefu.compliance.models import ComplianceFinding
from kefu.compliance.packs import pack_for
from kefu.compliance.rules import Severity
from kefu.compliance.scanner import CheckContext, judge
from kefu.compliance.textview import build_view
from tests.conftest import login_client

# Written for this test, not taken from either corpus split: a card fee said as a higher price,
# which no card-fee pattern reads. ("单价要高两块" was the second one until the eleventh accuracy
# round taught the rules "价要高"; "上浮" is still the model's alone.)
CARD_PRICE = "刷卡的话价格要上浮一点"
CARD_PRICE_2 = "用信用卡支付的话单价上浮两块"


@pytest.mark.parametrize("text", [CARD_PRICE, CARD_PRICE_2])
def test_a_reply_the_rules_miss_is_warned_with_the_phrases_that_pushed_it(text):
    verdict = judge(text, context=CheckContext())
    assert verdict.verdict == "warn"
    (finding,) = verdict.findings
    assert finding.code == "card_fee"
    assert finding.source == "model"
    assert finding.severity is Severity.WARN
    assert finding.match == text[finding.start : finding.end]
    assert "卡" in finding.match
    assert finding.reason is not None
    assert f"「{finding.match}」" in finding.reason.zh
    assert f"'{finding.match}'" in finding.reason.en
    assert "card" in finding.reason.en
    # The code's compliant wording, as a rule's finding would offer it.
    rule = pack_for("taobao").rule("card_fee")
    assert rule is not None
    assert finding.alternative == rule.alternative_for(
        ship_by_hours=CheckContext().ship_by_hours, refund_days=CheckContext().refund_days
    )
    shown = finding.as_dict()
    assert shown["source"] == "model"
    assert shown["reason"] == finding.reason.as_dict()


def test_without_the_model_the_rules_alone_let_it_through(monkeypatch):
    monkeypatch.setattr(model, "ENABLED", False)
    assert judge(CARD_PRICE, context=CheckContext()).verdict == "ok"


@pytest.mark.parametrize(
    ("text", "context"),
    [
        ("发票可以正常开，金额和实付一致", CheckContext()),
        ("信用卡和花呗分期都不收手续费，价格一样", CheckContext()),
        ("刷卡的话价格不变，不用另外加钱", CheckContext()),
        ("Paying by credit card costs the same, no extra fee.", CheckContext()),
        ("偏远地区也包邮，不用补邮费", CheckContext(free_shipping=True)),
        ("有问题请直接在旺旺留言，不用加微信", CheckContext()),
        ("退款已提交，预计3-5个工作日原路退回", CheckContext(refund_talk=True)),
        (
            "这个颜色暂时没货，下周三补货，给您留一件可以吗",
            CheckContext(stock_available=False),
        ),
    ],
)
def test_compliant_replies_on_the_same_topics_stay_ok(text, context):
    verdict = judge(text, context=context)
    assert verdict.verdict == "ok", verdict.as_dict()


def test_the_model_never_repeats_a_code_the_rules_found_and_never_blocks():
    # The rules block this card fee; the model adds nothing for the same code.
    verdict = judge("刷卡要加3%手续费", context=CheckContext())
    assert verdict.verdict == "block"
    assert [f.source for f in verdict.findings if f.code == "card_fee"] == ["rules"]


def _gated(text, context):
    view = build_view(text)
    scan = prescan.scan(view.compact)
    return model.gated_codes(view.compact, scan.cued, scan.lexical, context)


def test_the_model_runs_only_on_topic_and_in_context():
    assert _gated("谢谢亲，祝您生活愉快，有问题随时找我们", CheckContext()) == []
    assert "card_fee" in _gated(CARD_PRICE, CheckContext())
    # Postage is judged only on a free-shipping listing, stock only when it is known gone.
    assert "free_shipping" not in _gated("偏远地区运费另算", CheckContext())
    assert "free_shipping" in _gated("偏远地区运费另算", CheckContext(free_shipping=True))
    assert "out_of_stock" not in _gated("没货了，您申请退款吧", CheckContext(stock_available=True))
    assert "out_of_stock" in _gated("没货了，您申请退款吧", CheckContext(stock_available=False))


def test_the_model_file_loads_once():
    judge(CARD_PRICE_2 + "。", context=CheckContext())
    before = model.load_model.cache_info()
    for suffix in ("！", "哦", "呢"):
        judge(CARD_PRICE + suffix, context=CheckContext())
    after = model.load_model.cache_info()
    assert after.misses == before.misses
    assert after.hits > before.hits
    assert after.currsize == 1


def test_the_shipped_model_covers_the_six_gap_codes_with_a_threshold_each():
    loaded = model.load_model()
    assert {entry.code for entry in loaded.codes} == {
        "card_fee",
        "free_shipping",
        "invoice",
        "off_platform",
        "out_of_stock",
        "wait_patiently",
    }
    assert all(entry.reads_like[0] and entry.reads_like[1] for entry in loaded.codes)
    assert loaded.version.startswith("tuning-")


@pytest.mark.django_db
def test_the_api_shows_the_model_finding_and_records_it_as_a_warning(shop, pre_agent):
    client = login_client(pre_agent)
    body = client.post(
        "/api/v1/compliance/check",
        data=json.dumps({"text": CARD_PRICE, "record": True, "source": "reply"}),
        content_type="application/json",
    ).json()
    assert body["verdict"] == "warn"
    (finding,) = body["findings"]
    assert finding["code"] == "card_fee"
    assert finding["source"] == "model"
    assert finding["severity"] == "warn"
    assert set(finding["reason"]) == {"zh", "en"}
    assert finding["match"] in finding["reason"]["zh"]
    # A recorded check puts it on the owner's daily page like any warning: not a block.
    row = ComplianceFinding.objects.get()
    assert (row.code, row.severity, row.blocked) == ("card_fee", "warn", False)
    # A rule's finding says where it came from too.
    rules_body = client.post(
        "/api/v1/compliance/check",
        data=json.dumps({"text": "我们不开发票", "platform": "tmall"}),
        content_type="application/json",
    ).json()
    assert [f["source"] for f in rules_body["findings"]] == ["rules"]
    assert rules_body["findings"][0]["reason"] is None


def test_a_score_does_not_depend_on_the_process_string_hash():
    # The weights are added in the order the n-grams first occur. They were once added in a
    # set's order, which follows the per-process string hash: this doubled reply then scored
    # 4.2058 +- 4e-15 against a threshold of 4.2058, so whether the model warned depended on
    # PYTHONHASHSEED. The sources (the reference) run here; the C twin is compared with them in
    # test_native.py. Retrained in the eleventh accuracy round, the model scores this reply well
    # above the threshold (it warns); what must hold is one score, to the bit, in every process.
    script = (
        "import kefu.compliance\n"
        "from kefu.compliance import model\n"
        "from kefu.compliance.textview import build_view\n"
        "t = '偏遠地區需要加收郵資，麻煩您補一下。偏遠地區需要加收郵資，麻煩您補一下'\n"
        "print(repr(model.score(build_view(t).compact, ['free_shipping'])['free_shipping']))\n"
    )
    scores = set()
    for seed in ("1", "3", "7"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "KEFU_GUARD_INTERPRETED": "1"}
        out = subprocess.run(  # noqa: S603 (this interpreter, a fixed script)
            [sys.executable, "-W", "ignore", "-c", script],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        scores.add(out.stdout.strip())
    assert len(scores) == 1
    (threshold,) = [e.threshold for e in model.load_model().codes if e.code == "free_shipping"]
    assert float(scores.pop()) > threshold
