import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from kefu.compliance import native
from kefu.compliance import patterns as pt
from kefu.compliance.corpus import load
from kefu.compliance.packs import PACKS, pack_for
from kefu.compliance.prescan import GROUPS
from kefu.compliance.rules import Severity
from kefu.compliance.scanner import CheckContext, check_text
from kefu.compliance.textview import build_view

CJK = re.compile(r"[\u4e00-\u9fff]")
REQUIRED = {"invoice", "card_fee", "privacy", "free_shipping", "refuse_to_ship", "off_platform"}


def test_every_rule_explains_itself_in_both_languages():
    for pack in PACKS.values():
        for rule in pack.rules:
            for text in (rule.title, rule.explanation, rule.alternative, rule.penalty.text):
                assert CJK.search(text.zh), (pack.platform, rule.code, text)
                assert text.en.strip(), (pack.platform, rule.code)
                assert not CJK.search(text.en), (pack.platform, rule.code)
            assert re.fullmatch(r"R-\d\d", rule.requirement)


def test_packs_cover_required_codes_with_block_on_marketplaces():
    assert set(PACKS) == {"tmall", "taobao", "aliexpress", "generic"}
    assert len({p.version for p in PACKS.values()}) == 4
    for platform in ("tmall", "taobao"):
        pack = pack_for(platform)
        assert pack.codes >= REQUIRED
        assert {"blame_courier", "wait_patiently"} <= pack.codes
        for code in REQUIRED:
            assert pack.rule(code).severity is Severity.BLOCK
        assert pack.rule("blame_courier").severity is Severity.WARN
        assert pack.rule("wait_patiently").severity is Severity.WARN
    assert pack_for("aliexpress").rule("invoice").severity is Severity.WARN
    assert pack_for("generic").rule("off_platform") is None
    assert pack_for("generic").rule("privacy").severity is Severity.BLOCK
    with pytest.raises(ValueError, match="unknown platform"):
        pack_for("ebay")


@pytest.mark.parametrize(
    ("text", "context"),
    [
        ("Invoice is available, just tell us the title.", CheckContext()),
        ("可以开发票的，下单备注抬头就行", CheckContext()),
        ("可以開發票喔", CheckContext()),
        ("No extra fee for instalments.", CheckContext()),
        ("分期付款免手续费", CheckContext()),
        (
            "Please contact us from the account that paid.",
            CheckContext(recipient_is_paying_buyer=False),
        ),
        ("请用下单付款的账号联系我们", CheckContext(recipient_is_paying_buyer=False)),
        ("Your parcel ships within 48 hours.", CheckContext(stock_available=True)),
        ("48小时内发货", CheckContext(stock_available=True)),
        ("Please send photos of the damage.", CheckContext(stock_available=True)),
        ("麻烦拍一下破损的照片发给我们", CheckContext(stock_available=True)),
    ],
)
def test_compliant_examples_from_the_issue_are_ok(text, context):
    verdict = check_text(text, context=context)
    assert verdict.verdict == "ok", verdict.as_dict()


@pytest.mark.parametrize(
    ("text", "context", "code"),
    [
        ("我们不开发票", CheckContext(), "invoice"),
        ("发票可以帮您多开一点", CheckContext(), "invoice"),
        ("Please add 0.8 % for credit card payment.", CheckContext(), "card_fee"),
        ("信用卡要加0.8%手续费", CheckContext(), "card_fee"),
        ("地址已经帮您改好了", CheckContext(recipient_is_paying_buyer=False), "privacy"),
        ("新疆要补10元邮费", CheckContext(free_shipping=True), "free_shipping"),
        ("72小时内发不了货", CheckContext(stock_available=True), "refuse_to_ship"),
        ("加我微信聊", CheckContext(), "off_platform"),
        ("是快递的问题", CheckContext(), "blame_courier"),
        ("退款请耐心等待", CheckContext(), "wait_patiently"),
    ],
)
def test_violations_are_found(text, context, code):
    verdict = check_text(text, context=context)
    assert code in verdict.codes
    finding = next(f for f in verdict.findings if f.code == code)
    assert finding.severity is pack_for("taobao").rule(code).severity
    assert verdict.verdict == finding.severity.value


def test_context_decides_free_shipping_privacy_and_stock():
    postage = "新疆要补10元邮费"
    assert check_text(postage, context=CheckContext(free_shipping=False)).verdict == "ok"
    address = "收货地址是浙江省杭州市西湖区文三路100号"
    assert check_text(address, context=CheckContext(recipient_is_paying_buyer=True)).verdict == "ok"
    assert check_text(address, context=CheckContext()).verdict == "ok"
    leaked = check_text(address, context=CheckContext(recipient_is_paying_buyer=False))
    assert leaked.codes == {"privacy"}
    assert leaked.verdict == "block"
    cannot = "这款卖完了，发不了货"
    in_stock = check_text(cannot, context=CheckContext(stock_available=True))
    assert in_stock.codes == {"refuse_to_ship"}
    assert in_stock.verdict == "block"
    sold_out = check_text(cannot, context=CheckContext(stock_available=False))
    assert sold_out.codes == {"out_of_stock"}
    assert sold_out.verdict == "warn"


def test_phone_numbers_are_private_unless_shop_return_address():
    ctx = CheckContext(recipient_is_paying_buyer=False)
    assert check_text("收件人电话 139 1234 5678", context=ctx).codes == {"privacy"}
    assert check_text("Call +86 138-1234-5678 tonight", context=ctx).codes == {"privacy"}
    assert check_text("退货请寄回我们的仓库，电话13812345678", context=ctx).verdict == "ok"
    assert check_text("订单号 123456789012345678 已发货", context=ctx).verdict == "ok"


def test_links_to_own_platform_pass_other_sites_block():
    own = check_text("店铺链接 https://shop1.taobao.com/x", context=CheckContext(platform="tmall"))
    assert own.verdict == "ok"
    other = check_text("see www.lamps-direct.com", context=CheckContext(platform="tmall"))
    assert other.codes == {"off_platform"}
    ali = CheckContext(platform="aliexpress")
    assert check_text("https://www.aliexpress.com/store/1", context=ali).verdict == "ok"
    assert check_text("https://item.taobao.com/item.htm", context=ali).codes == {"off_platform"}
    generic = CheckContext(platform="generic")
    assert check_text("order at www.lamps-direct.com", context=generic).verdict == "ok"


def test_generic_pack_warns_where_marketplaces_block():
    verdict = check_text("信用卡要加0.8%手续费", context=CheckContext(platform="generic"))
    assert verdict.verdict == "warn"
    assert verdict.codes == {"card_fee"}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("親，手 續 費要您自己承擔喔", "手 續 費要您自己承擔"),
        ("ＯＫ，加我 w e c h a t 吧", "w e c h a t"),
        ("好的。我們不開發票", "不開發票"),
        ("Sorry — INVOICES ARE NOT AVAILABLE here.", "INVOICES ARE NOT AVAILABLE"),
        ("加我微\u200b信", "微\u200b信"),
    ],
)
def test_spans_point_into_the_original_text(text, needle):
    verdict = check_text(text, context=CheckContext())
    assert verdict.findings
    finding = verdict.findings[0]
    assert text[finding.start : finding.end] == finding.match
    assert finding.match == needle
    assert finding.as_dict()["span"] == [text.index(needle), text.index(needle) + len(needle)]


@given(
    prefix=st.text(alphabet="好的亲您 abc,.。!1234", max_size=30),
    suffix=st.text(alphabet="好的亲您 abc,.。!", max_size=30),
)
@example(prefix="", suffix="a.cc")  # a website after the full stop is a finding of its own
def test_span_follows_the_violation_wherever_it_sits(prefix, suffix):
    text = f"{prefix}。加我微信。{suffix}"
    verdict = check_text(text, context=CheckContext())
    spans = [(f.start, f.end) for f in verdict.findings if f.code == "off_platform"]
    at = len(prefix) + 3
    assert (at, at + 2) in spans


@given(st.text(max_size=80))
def test_view_offsets_map_back_to_folded_characters(text):
    view = build_view(text)
    assert len(view.folded) == len(text)
    assert list(view.origin) == sorted(set(view.origin))
    assert all(view.folded[o] == ch for o, ch in zip(view.origin, view.compact, strict=True))
    check_text(text, context=CheckContext(recipient_is_paying_buyer=False, free_shipping=True))


def test_anchored_matching_finds_what_a_full_search_finds():
    texts = [e.text for split in ("tuning", "holdout") for e in load(split)]
    for group, group_patterns in GROUPS.items():
        for index, pattern in enumerate(group_patterns):
            if pattern.prefixes is None:
                continue
            for text in texts:
                compact = build_view(text).compact
                for m in pattern.regex.finditer(compact):
                    assert any(compact.startswith(p, m.start()) for p in pattern.prefixes), (
                        group,
                        index,
                        text,
                    )


def test_most_patterns_are_anchored_and_every_code_has_cues():
    patterns = [p for group in GROUPS.values() for p in group]
    assert sum(p.prefixes is None for p in patterns) <= 5
    for rule in {r.code: r for p in PACKS.values() for r in p.rules}.values():
        if rule.code not in {"privacy", "out_of_stock", "refuse_to_ship"}:
            assert pt.CUES[rule.code]


@pytest.mark.parametrize(
    "text",
    [
        "您的手机号是多少？",
        "What is the delivery address for this order?",
        "我们仓库地址是杭州市余杭区良渚街道1号，请寄回这里",
        "为保护买家信息，请使用下单付款的账号联系我们。",
        "Por privacidad, solo podemos dar los datos de envío a la cuenta que pagó el pedido.",
    ],
)
def test_asking_refusing_or_the_shops_own_address_is_not_a_leak(text):
    context = CheckContext(recipient_is_paying_buyer=False)
    assert "privacy" not in check_text(text, context=context).codes


@pytest.mark.parametrize(
    ("text", "context", "code"),
    [
        (
            "Для Тибета нужно доплатить за доставку 25 юаней.",
            {"free_shipping": True},
            "free_shipping",
        ),
        ("Con tarjeta de crédito hay un recargo del 3%.", {}, "card_fee"),
        ("Напишите мне в WhatsApp, договоримся.", {}, "off_platform"),
        ("No vamos a enviar este pedido, cancélelo.", {"stock_available": True}, "refuse_to_ship"),
        ("El destinatario es Juan Pérez.", {"recipient_is_paying_buyer": False}, "privacy"),
    ],
)
def test_russian_and_spanish_are_judged(text, context, code):
    assert code in check_text(text, context=CheckContext(**context)).codes


def test_a_verdict_is_the_same_from_the_cache_and_uncached():
    from kefu.compliance.scanner import judge

    context = CheckContext(free_shipping=True)
    text = "新疆要补15元运费，加我微信"
    assert check_text(text, context=context) == judge(text, context=context)
    assert check_text(text, context=context) is check_text(text, context=context)


def test_a_verdict_built_without_its_init_is_the_dataclass_verdict():
    import dataclasses

    from kefu.compliance.scanner import Verdict, judge

    for text in ("新疆要补15元运费，加我微信", "亲，今天下午就给您发出", "ship to 12 Main St"):
        context = CheckContext(free_shipping=True, recipient_is_paying_buyer=False)
        made = judge(text, context=context)
        assert type(made) is Verdict
        same = Verdict(
            verdict=made.verdict,
            findings=made.findings,
            platform=made.platform,
            pack_version=made.pack_version,
            context=made.context,
        )
        assert made == same and hash(made) == hash(same) and repr(made) == repr(same)
        assert made.context is context
        with pytest.raises(dataclasses.FrozenInstanceError):
            made.verdict = "ok"  # type: ignore[misc]
    fast = native.fast_module()
    if fast is not None:
        # The C maker checks its arguments: one value per name, a type to make.
        with pytest.raises(TypeError):
            fast.frozen(Verdict, ("verdict", "findings"), "ok")
        with pytest.raises(TypeError):
            fast.frozen("Verdict", ())
        with pytest.raises(AttributeError):
            fast.frozen(Verdict, ("no_such_field",), "ok")


def test_a_digit_anywhere_runs_the_address_and_phone_checks():
    from kefu.compliance import prescan
    from kefu.compliance.sentences import NO_DIGIT, PHONE_LIKE_DIGITS, SOME_DIGITS

    for text, digits in (
        ("亲，今天下午就给您发出", NO_DIGIT),
        ("寄到 ٣ 号楼", SOME_DIGITS),  # an Arabic-Indic digit is sre's \d
        ("二³楼", SOME_DIGITS),  # the view folds the superscript to a 3
        ("二〇楼", NO_DIGIT),  # 〇 is a number, no decimal digit
        ("电话 1 3 8 0 0 1 3 8 0 0 0", PHONE_LIKE_DIGITS),  # spread by separators the view drops
        ("123456 号", SOME_DIGITS),  # six: no phone number can match (decisions §116)
        ("1234567", PHONE_LIKE_DIGITS),
        ("①２3-4⁵6 and ٧", PHONE_LIKE_DIGITS),  # folded and other scripts' digits count
    ):
        view = build_view(text)
        assert prescan.scan(view.compact).digits == digits, text
        assert (re.search(r"\d", view.folded) is not None) is (digits != NO_DIGIT), text
        count = len(re.findall(r"\d", view.folded))
        assert (count >= 7) is (digits == PHONE_LIKE_DIGITS), text


def _codes(text: str, **context: object) -> set[str]:
    return set(check_text(text, context=CheckContext(**context)).codes)  # type: ignore[arg-type]


def test_a_short_question_joins_its_answer():
    # "Invoice? Then 50 more": one statement about the invoice, whatever the punctuation.
    assert "invoice" in _codes("发票？那要再付80块")
    assert "invoice" in _codes("Invoice? That's 12 dollars more.")
    # A longer question stays a sentence of its own: "另外付款后…" (besides, after payment) is
    # not about the invoice asked about before it.
    assert _codes("请问您开发票是需要公司抬头还是个人抬头？另外付款后我们24小时内发货") == set()


def test_a_carrier_by_name_is_the_courier_and_the_shop_following_up_is_not_blame():
    assert "blame_courier" in _codes("这个请您自己去找圆通问一下")
    assert "blame_courier" in _codes("You need to call FedEx about that.")
    assert _codes("我们已经联系圆通了，明天给您回复") == set()
    assert _codes("We have contacted FedEx; you don't need to call them.") == set()


def test_a_chat_handle_is_off_platform_but_a_warning_or_a_model_name_is_not():
    assert "off_platform" in _codes("加我Telegram：@shop_deal 更优惠")
    assert "off_platform" in _codes("Ping me on WhatsApp: shopdeals99")
    assert (
        _codes("Someone claims to be us on Telegram? It's a scam, pay only on the platform.")
        == set()
    )
    assert _codes("这款音箱有LINE-IN接口") == set()


def test_stalling_in_refund_talk_warns_but_a_next_step_does_not():
    assert "wait_patiently" in _codes("退款的话您就慢慢等吧")
    assert _codes("稍等，我帮您查一下退款到哪一步了") == set()
    assert _codes("The refund goes back to your card within 5 business days, just wait.") == set()


def test_refusing_an_order_is_refusing_to_ship():
    assert "refuse_to_ship" in _codes("这单我们不做了，您退款吧", stock_available=True)
    assert "out_of_stock" in _codes("这单我们不做了，您退款吧", stock_available=False)
    assert _codes("这单我们优先做，今天发出", stock_available=True) == set()


def test_restating_the_buyers_question_is_not_an_offer():
    # The agent repeats the ask before answering it: nothing is offered.
    assert _codes("您是想问发票需要另外付钱吗？") == set()
    assert _codes("您是想问发票需要另外付钱吗？不用的，按实付金额开。") == set()
    assert _codes("Are you asking if paying by card costs extra? It doesn't.") == set()
    assert _codes("¿Pregunta si la factura tiene un recargo? No, es gratis.") == set()
    # A question that proposes the violation has no restating frame and stays a violation;
    # so does an answer that commits it after the restated question.
    assert "invoice" in _codes("开发票要加6个点可以吗？")
    assert "invoice" in _codes("您是想问发票要不要加钱吗？开发票要加6个点。")
    # The frame must open a question: stated as a fact it lets nothing through.
    assert "invoice" in _codes("您是说要发票，发票要另外加6个点。")


def test_an_invoice_rate_a_discounted_amount_or_a_tax_the_buyer_pays_is_an_invoice_violation():
    assert "invoice" in _codes("亲，专票另收5%，普票免费")
    assert "invoice" in _codes("发票可以开，不过得按九折的金额开")
    assert "invoice" in _codes("开票可以，税点您这边出，3个点")
    assert "invoice" in _codes("С чеком цена будет дороже на 50 рублей.")
    assert _codes("发票按您实付的金额开，不加任何费用") == set()
    assert _codes("普票专票都免费开，税点我们承担") == set()


def test_a_short_restating_question_does_not_excuse_the_answer_it_joins():
    assert "invoice" in _codes("您是想问这个吗？开发票的话要多付30元，可以吗？")


def test_agreeing_right_after_a_restated_question_grants_it():
    assert "invoice" in _codes("您的意思是发票金额开高一点吗？可以的，没问题。")
    assert "invoice" in _codes("Do you mean a higher amount on the invoice? Sure, we can do that.")
    assert "invoice" in _codes("¿Se refiere a poner otro concepto en la factura? Sí, claro.")
    assert _codes("您的意思是发票金额开高一点吗？这个不行，只能按实付金额开。") == set()


def test_a_question_of_a_few_words_joins_its_answer():
    # Latin and Cyrillic questions are measured in words: "Need a fapiao?" only names the
    # topic the answer after it is about.
    assert "invoice" in _codes("Need a fapiao? Add 20 yuan and it's yours.")
    assert "invoice" in _codes("Счёт нужен? Тогда доплата 300 рублей.")
    assert "invoice" in _codes("¿Quiere factura? Son 5 euros más.")
    assert _codes("Need an invoice? It's free, for the amount you paid.") == set()
    # A real question of its own stays apart from what follows it.
    assert (
        _codes("Which company name should go on the invoice? We add extra padding for free.")
        == set()
    )


def test_we_shipped_it_is_not_the_shop_following_up_with_the_courier():
    # "We have shipped, go and ask the courier" is the deflection R-30 forbids; only "we" plus
    # a follow-up act (contact, chase, check, resend...) takes the courier off the buyer.
    assert "blame_courier" in _codes("您去找物流问问吧，我们这边已经发出了")
    assert "blame_courier" in _codes("我們已經寄出了，您自己問快遞吧")
    assert _codes("我们已经发货了，物流慢的话我们会帮您催") == set()
    assert _codes("您先别急，快递那边我们马上核实") == set()


def test_paying_more_or_tax_points_for_an_invoice_is_an_invoice_violation():
    assert "invoice" in _codes("开发票的话得多付2个点")
    assert _codes("发票不用多付，按实付金额开") == set()


def test_the_shop_saying_it_cannot_follow_up_or_the_buyer_asking_is_still_a_deflection():
    # The follow-up act must be the shop's, in its own clause, and one it says it does: "we
    # can't find it, ask the courier yourself" and "we shipped, you ask the courier" deflect.
    assert "blame_courier" in _codes("我们这边查不到，您自己去问快递吧")
    assert "blame_courier" in _codes("我们已经发货了，你问快递吧")
    assert "blame_courier" in _codes("我们联系不上快递，您自己联系快递吧")
    assert _codes("我们这边马上帮您联系快递，您不用找快递") == set()
    assert _codes("我们这边，马上帮您联系快递") == set()


def test_paying_more_tax_points_and_an_added_amount_count_only_when_asked_of_the_buyer():
    # A refund of what the buyer overpaid, a price a few points lower, free samples added:
    # next to an invoice, none of them charges for it.
    assert _codes("发票会开的，您多付的运费我们退给您") == set()
    assert _codes("发票随货寄出，这款比上个月便宜了3个点") == set()
    assert _codes("We'll add 2 free samples, and the invoice will be sent by email.") == set()
    assert "invoice" in _codes("开票可以，税点您这边出，3个点")
    assert "invoice" in _codes("Want a fapiao? Add 30 yuan and we'll issue it.")


@pytest.mark.parametrize(
    ("text", "context", "code"),
    [
        # A discount on the price is not another invoice amount; adding points for it is.
        ("发票可以正常开，下单再给您优惠2个点", {}, None),
        ("发票可以开，不过要再加两个点", {}, "invoice"),
        # Negation in the clause: telling the buyer not to cancel is the opposite of a refusal.
        ("您不用取消订单，今天就给您发", {"stock_available": True}, None),
        ("麻烦您取消订单吧", {"stock_available": True}, "refuse_to_ship"),
        # Chat spellings: "dont", "cant", "pls".
        (
            "sorry we cant send it this week, pls cancel the order",
            {"stock_available": True},
            "refuse_to_ship",
        ),
        ("we dont issue invoices for clearance items", {}, "invoice"),
        # Who pays: the buyer bearing the instalment fee, not the shop.
        ("分期的手续费由您来出", {}, "card_fee"),
        ("分期的手续费由我们来出", {}, None),
        ("Installments are fine but the fee is on you.", {}, "card_fee"),
        # Adding someone on a chat app, and saying the shop does not.
        ("加我的Viber吧，发您实拍", {}, "off_platform"),
        ("我们不加Viber，在这里聊就行", {}, None),
        # A negated "free" is no promise kept.
        (
            "В Сочи доставка не бесплатная, доплатите 200 рублей",
            {"free_shipping": True},
            "free_shipping",
        ),
        ("Доставка бесплатная, доплачивать не нужно", {"free_shipping": True}, None),
        # The shop chasing the courier for the buyer.
        ("我帮您联系一下快递，今天给您回复", {}, None),
        ("这个您得自己联系快递", {}, "blame_courier"),
    ],
)
def test_general_mechanisms_of_the_blind_batch_tuning(text, context, code):
    codes = check_text(text, context=CheckContext(**context)).codes
    assert codes == ({code} if code else set()), codes


def _corpus_scans() -> Iterator[tuple[str, Any]]:
    """Each labelled text's compact view and its scan (tuning, hold-out, blind13, blind14)."""
    from kefu.compliance import prescan

    for entry in [e for split in ("tuning", "holdout", "blind13", "blind14") for e in load(split)]:
        compact = build_view(entry.text).compact
        yield compact, prescan.scan(compact)


def _concept_places(scan: Any, parts: list[Any]) -> Iterator[tuple[Any, int, int]]:
    """(part, place, alternative index) for each place the scan filed an alternative of one
    of these concept parts."""
    from kefu.compliance import prescan

    for part in parts:
        for place in scan.lexical.get(part.key, []):
            yield part, place >> prescan.ALTERNATIVE_SHIFT, place & prescan.ALTERNATIVE_MASK


def test_required_literals_skip_only_regexes_that_cannot_match():
    """hits skips a pattern or concept alternative at a place when one set of its required
    literals has none after the place within the regex's widest match (and within the
    sentence, for a concept), and a pattern with no literal start when one set has none in the
    text: on every corpus text, at every place the scan files, a regex that matches there has
    a literal of each set in its match and is no longer than its width, so no skip changed an
    answer; and the skip is live (some places are skipped, some only by a set after the first,
    some only by the width)."""
    from kefu.compliance import hits, prescan

    parts = [
        part
        for plan in hits._CONCEPT_PLANS
        for part in (plan.act, plan.topic, plan.cancel)
        if part.present
    ]
    skipped = 0
    several = 0
    narrowed = 0
    for compact, scan in _corpus_scans():
        for part, at, index in _concept_places(scan, parts):
            need = part.required[index]
            if need is None:
                continue
            m = part.alternatives[index].match(compact, at)
            width = part.width[index]
            if m is not None and m.end() > at:
                assert m.end() - at <= width, (part.key, compact)
                for literals in need:
                    assert any(lit in m.group(0) for lit in literals), (part.key, compact)
            else:
                end = min(len(compact), at + width)
                skip = not hits._has_all(compact, need, at, end)
                skipped += skip
                several += skip and hits._has_any(compact, need[0], at, end)
                narrowed += skip and hits._has_all(compact, need, at, len(compact))
        for group, places in scan.by_group.items():
            for place in places:
                plan = hits._PLANS[group][place >> prescan.PATTERN_SHIFT]
                at = place & prescan.OFFSET_MASK
                if plan.after is None:
                    continue
                m = plan.regex.match(compact, at)
                if m is not None and m.end() > at:
                    assert m.end() - at <= plan.width, (plan.key, compact)
                    for literals in plan.after:
                        assert any(lit in m.group(0) for lit in literals), (plan.key, compact)
                else:
                    end = min(len(compact), at + plan.width)
                    skip = not hits._has_all(compact, plan.after, at, end)
                    skipped += skip
                    several += skip and hits._has_any(compact, plan.after[0], at, end)
                    narrowed += skip and hits._has_all(compact, plan.after, at, len(compact))
        for plans in hits._UNANCHORED.values():
            for plan in plans:
                if plan.anywhere is None:
                    continue
                for m in plan.regex.finditer(compact):
                    if m.end() > m.start():
                        for literals in plan.anywhere:
                            assert any(lit in m.group(0) for lit in literals), (plan.key, compact)
    assert skipped > 0
    # A later set skips places the first one would not have (decisions §87): live too.
    assert several > 0
    # The widest match keeps a later literal out of reach (decisions §92): live too.
    assert narrowed > 0


FS = {"free_shipping": True}
RT = {"refund_talk": True}


@pytest.mark.parametrize(
    ("text", "context", "code"),
    [
        # Each class of the thirteenth accuracy round's hold-out misses, in wording of its own
        # (neither corpus split nor the blind set has these), with a compliant counterpart.
        # A restated question ("您说的…是指…吗？") offers nothing.
        ("您说的另外收钱是指开票吗？不收的，正常开", {}, None),
        # Who pays: the buyer making up a sum for the card; a re-shipment is no sum.
        ("刷信用卡的话需要您补20块", {}, "card_fee"),
        ("信用卡付款没问题，少的那件给您补发", {}, None),
        # A card price raised.
        ("花呗付的话价钱要提一些", {}, "card_fee"),
        ("花呗付的话价格不变", {}, None),
        # An invoice refused as "not something we do".
        ("Invoices are not something we issue here.", {}, "invoice"),
        # An invoice amount capped in Chinese numerals, the rest booked as something else.
        ("发票最多开一千，其余的开成服务费", {}, "invoice"),
        ("发票按实付金额开，一千二就写一千二", {}, None),
        # The courier with a sum is postage; a sum "more" in Spanish.
        ("海南快递要多收15元", FS, "free_shipping"),
        ("海南快递三天能到，不用加钱", FS, None),
        ("A Canarias el envío son 9 euros más.", FS, "free_shipping"),
        ("El envío a Canarias es gratis, sin ningún costo adicional.", FS, None),
        # WeChat homophones and bare QQ numbers with a handle; the word or a number alone is not.
        ("维信：shop_888 联系我", {}, "off_platform"),
        ("卫星电话打不通的话请在这里留言", {}, None),
        ("加个q 55667788，发您实拍图", {}, "off_platform"),
        ("订单号 55667788 已发货", {}, None),
        # The shop's store on another marketplace.
        ("Our store on Amazon has it for less.", {}, "off_platform"),
        # A return date or another colour offered in English.
        (
            "The grey is sold out; would you like the black one, or we ship when it's back?",
            {"stock_available": False},
            None,
        ),
        # Russian patience as an adverb; thanks for it stays thanks.
        ("Ожидайте терпеливо, деньги вернутся.", {"refund_talk": True}, "wait_patiently"),
        ("Спасибо, что терпеливо ждали: деньги уже на карте.", {"refund_talk": True}, None),
        # A channel refused after it is named; named and asked for, it is off-platform.
        ("微信付款在收银台选就可以，不需要加我微信", {}, None),
        ("微信付款给我就行，加我微信", {}, "off_platform"),
        # Refusing a kind of invoice is not refusing the invoice; refusing both still is.
        ("这个发票类型我们不支持哦", {}, None),
        ("专票暂时不支持，普票可以正常开", {}, None),
        ("专票不支持，发票也开不了", {}, "invoice"),
        ("发票我们不支持哦", {}, "invoice"),
    ],
)
def test_mechanisms_of_the_thirteenth_accuracy_round(text, context, code):
    codes = check_text(text, context=CheckContext(**context)).codes
    assert codes == ({code} if code else set()), codes


@pytest.mark.parametrize(
    ("text", "context", "code"),
    [
        # Each class of blind13's misses (fourteenth accuracy round), in wording of its own
        # (no corpus file has these), with a compliant counterpart.
        # A refusal as what cannot be provided, in traditional script as well.
        ("不好意思，本店無法出具發票", {}, "invoice"),
        ("發票可以出具，金額照實付", {}, None),
        # The content restricted to something else, or the real model refused.
        ("票上只能填劳保用品哈", {}, "invoice"),
        ("发票上只能写实际购买的商品名称", {}, None),
        ("发票开不了真实品名，见谅", {}, "invoice"),
        # "It cannot be hurried" as stalling, and the English "bear with me".
        ("退款的事催不得，再等等看", RT, "wait_patiently"),
        ("退款催不了银行，但我们今天已提交，3个工作日到账", RT, None),
        ("Please bear with me on the refund, it'll get there.", RT, "wait_patiently"),
        ("Bear with me while I check where your refund is.", RT, None),
        # The buyer told they pay nothing more, or the fee is the shop's business.
        ("分期没问题，手续费归我们出，您不用多付", {}, None),
        ("分期没问题，手续费您这边出一下", {}, "card_fee"),
        # A remote region said not to be charged; "not included" with a sum is still a charge.
        ("青海同样不收运费，放心拍", FS, None),
        ("青海也不包邮，得补12块", FS, "free_shipping"),
    ],
)
def test_mechanisms_of_the_fourteenth_accuracy_round(text, context, code):
    codes = check_text(text, context=CheckContext(**context)).codes
    assert codes == ({code} if code else set()), codes


SOLD_OUT = {"stock_available": False}
IN_STOCK = {"stock_available": True}


@pytest.mark.parametrize(
    ("text", "context", "code"),
    [
        # Each class of blind14's misses (fifteenth accuracy round), in wording of its own (no
        # corpus file has these), with a compliant counterpart.
        # A waiver before "but" does not cover a charge after it; with no charge after, it does.
        ("花呗免息没问题，不过要收您20块手续费", {}, "card_fee"),
        ("信用卡不加钱，但是要等两天才能到账", {}, None),
        # The card priced with a sign; "not ours" disclaims who keeps the fee, not the fee.
        ("card = +2%, its the bank's share not ours", {}, "card_fee"),
        ("Оплата картой — плюс двести рублей сверху.", {}, "card_fee"),
        # Island and remote postage named by its means or with a sum; "you won't pay" is free.
        ("绿岛要多八十块船运哦", FS, "free_shipping"),
        ("For Guam it's plus $9 by boat.", FS, "free_shipping"),
        ("You won't pay a cent more for Puerto Rico, the boat is on us.", FS, None),
        ("A Menorca llega sin pagar nada de portes.", FS, None),
        # Stalling idioms and a typo of "patiently"; checking the refund is not stalling.
        ("退款的事您稍安勿躁哈", RT, "wait_patiently"),
        ("Hold tight, refunds take a while.", RT, "wait_patiently"),
        ("pls wait patiantly, its coming", RT, "wait_patiently"),
        ("Hang on, let me check where the refund is.", RT, None),
        # Sold out without the anchor words; with a delivery date it is an alternative.
        ("Раскупили подчистую, оформите возврат.", SOLD_OUT, "out_of_stock"),
        ("Nos quedamos sin tallas M, pida el reembolso.", SOLD_OUT, "out_of_stock"),
        ("Раскупили, но в пятницу будет новая поставка.", SOLD_OUT, None),
        # Queued past the promise, or asked to cancel as "anúlelo".
        ("订单太多，您这单要排到下个月了", IN_STOCK, "refuse_to_ship"),
        ("Mejor anúlelo usted, esta semana no nos da tiempo.", IN_STOCK, "refuse_to_ship"),
        # Details given as where the parcel went or whose surname is on it.
        ("那单已经寄到了杭州滨江区，收件人姓王", {"recipient_is_paying_buyer": False}, "privacy"),
        ("收件人姓名请用下单账号核对", {"recipient_is_paying_buyer": False}, None),
        # ...but "寄到" names no detail on its own: where a parcel goes is no one's address.
        ("寄到海南的也给您包邮", {"recipient_is_paying_buyer": False}, None),
        # The courier carrying the blame in slang or in Russian; the shop that has already
        # complained and will write back is following up.
        ("That's a FedEx thing, give them a ring.", {}, "blame_courier"),
        ("Узнайте у перевозчика, мы тут ни при чём.", {}, "blame_courier"),
        ("Ya hemos llamado a la paquetería y le escribimos mañana.", {}, None),
        # Channels in slang, sites spelled out, the shop's account for a transfer; a wallet at
        # the platform's checkout is not a channel.
        ("Escríbeme al guasap 600111222", {}, "off_platform"),
        ("mystore dot net has it cheaper", {}, "off_platform"),
        ("卡号发你，转账过来更便宜", {}, "off_platform"),
        ("在收银台的付款方式里选支付宝就行", {}, None),
        # A named type refused with the ordinary invoice offered; a charge after the offer is not.
        ("专票暂时开不出来，普票照常开，金额按实付", {}, None),
        ("普票可以开，不过要另加3个点", {}, "invoice"),
    ],
)
def test_mechanisms_of_the_fifteenth_accuracy_round(text, context, code):
    codes = check_text(text, context=CheckContext(**context)).codes
    assert codes == ({code} if code else set()), codes


# The sixteenth accuracy round (guide, "Sixteenth accuracy round"): blind15's misses and false
# findings and the hold-out's last two misses, each class as a violation and a compliant reply
# in wording no corpus file has.
@pytest.mark.parametrize(
    ("text", "context", "code"),
    [
        ("sorry, we can't issue paperwork for clearance orders", {}, "invoice"),
        ("The invoice goes out by email, the same day.", {}, None),
        ("开票可以多加点？没这回事，按实付给您开", {}, None),
        ("Le hacemos la factura por el importe que pagó, tal cual.", {}, None),
        ("Оплата картой: эквайринг 3% за ваш счёт.", {}, "card_fee"),
        ("Картой можно, никаких наценок мы не берём.", {}, None),
        ("刷卡走通道要扣三个点，差的您来补一下", {}, "card_fee"),
        ("paying by credit? there's a 4% processing fee", {}, "card_fee"),
        ("下单的是赵女士，住在南山区那边", {"recipient_is_paying_buyer": False}, "privacy"),
        (
            "Se lo enviamos a Marta, que vive en la avenida del Puerto 8.",
            {"recipient_is_paying_buyer": False},
            "privacy",
        ),
        (
            "Hecho, la dirección de envío ya es la que nos indicó.",
            {"recipient_is_paying_buyer": False},
            "privacy",
        ),
        ("手机留的是一五九八八七七六六五五", {"recipient_is_paying_buyer": False}, "privacy"),
        ("拉萨那边的快递收得多，补个20就行", {"free_shipping": True}, "free_shipping"),
        ("拉萨那边的快递我们承担，不用补", {"free_shipping": True}, None),
        ("这批货排满了，最早两周后才能安排", {"stock_available": True}, "refuse_to_ship"),
        ("we'll send it within 48 hours", {"stock_available": True}, None),
        # Sending the buyer to a refund is no refusal to ship by itself (damaged goods).
        (
            "Sorry it arrived damaged, please request a refund and we'll approve it right away",
            {},
            None,
        ),
        (
            "It'll take at least 6 days before we can dispatch it",
            {"stock_available": True},
            "refuse_to_ship",
        ),
        ("Отправим только через месяц.", {"stock_available": True}, "refuse_to_ship"),
        ("品牌停产了，只能给您退款", {"stock_available": False}, "out_of_stock"),
        (
            "Red is sold out right now, but blue is still available, want to switch?",
            {"stock_available": False},
            None,
        ),
        ("想便宜点就加我v：abc_777", {}, "off_platform"),
        ("Пишите в тг @deals_spb, там цены ниже", {}, "off_platform"),
        ("Ni transferencias ni PayPal: se paga solo en la app.", {}, None),
        ("你自己打电话给中通问一下", {}, "blame_courier"),
        ("Please contact FedEx yourself, they lost it", {}, "blame_courier"),
        ("Tiene que arreglarlo con SEUR, a nosotros no nos hacen caso.", {}, "blame_courier"),
        ("Мы сами свяжемся с перевозчиком и всё решим.", {}, None),
        ("Hold on a little longer for your refund", {"refund_talk": True}, "wait_patiently"),
        ("感謝耐心等候，退款已退回原帳戶", {"refund_talk": True}, None),
        ("您就耐心点等吧，退款会到的", {"refund_talk": True}, "wait_patiently"),
    ],
)
def test_mechanisms_of_the_sixteenth_accuracy_round(text, context, code):
    codes = check_text(text, context=CheckContext(**context)).codes
    assert codes == ({code} if code else set()), codes


def test_cancels_run_without_the_contrast_look_ahead_only_where_it_cannot_refuse():
    """A card cancel (`concepts.until_contrast`) runs without its contrast look-ahead where no
    contrast word lies between its place and the sentence's end: on every corpus text, at
    every place the scan files such a cancel, that plain regex matches exactly as the full one
    does; the plain path is live (most places take it) and a contrast still refuses the cancel.
    """
    from kefu.compliance import concepts, hits
    from kefu.compliance.sentences import sentence_of

    parts = [
        part
        for plan in hits._CONCEPT_PLANS
        for part in (plan.act, plan.topic, plan.cancel)
        if any(plain is not None for plain in part.plain)
    ]
    assert parts
    plain_runs = full_runs = 0
    for compact, scan in _corpus_scans():
        for part, at, index in _concept_places(scan, parts):
            plain = part.plain[index]
            if plain is None:
                continue
            end = sentence_of(scan.sentences, at)[1]
            if hits._has_any(compact, concepts.CONTRAST_LITERALS, at, end):
                full_runs += 1
                continue
            plain_runs += 1
            full = part.alternatives[index].match(compact, at, end)
            short = plain.match(compact, at, end)
            assert (full and full.span()) == (short and short.span()), (part.key, compact)
    assert plain_runs > full_runs > 0
    context = CheckContext(platform="taobao")
    assert check_text("信用卡不加钱，但是要收您50服务费。", context=context).findings
    assert not check_text("信用卡不加钱，但是要等两天发货。", context=context).findings


@given(
    st.lists(st.integers(min_value=0, max_value=1 << 48), max_size=40),
    st.integers(min_value=-1, max_value=(1 << 48) + 1),
)
@example([], 0)
@example([5, 5, 5], 5)
def test_a_walk_over_few_places_finds_what_bisect_finds(places: list[int], key: int) -> None:
    # _lexical_match and _placed walk a short list of places instead of calling bisect_left.
    from bisect import bisect_left

    from kefu.compliance.hits import _first_from

    places.sort()
    assert _first_from(places, key) == bisect_left(places, key)
    for place in places:
        assert _first_from(places, place) == bisect_left(places, place)


def _all_corpus_views() -> Iterator[str]:
    """The compact view of every labelled text of every split, and of bench.verdicts' variants
    of each (upper case, full-width, spread out, zero-width glue, ...)."""
    from bench.verdicts import _variants

    splits = ("tuning", "holdout", "blind13", "blind14", "blind15", "blind16", "blind17", "blind18")
    for entry in [e for split in splits for e in load(split)]:
        for text in _variants(entry.text):
            yield build_view(text).compact


def test_the_english_address_is_searched_only_after_a_street_word():
    """patterns.ADDRESS_EN ends with whitespace and a street word, so privacy_hits searches it
    only where the scan's one C pass saw a street word right after a whitespace character
    (decisions §121): on every corpus text and variant every address match has one, the C pass
    says what its twin regex says, and the gate is live (texts with a digit and no street
    word skip the search)."""
    from kefu.compliance import _fastview, hits, prescan, sentences

    assert _fastview.STREET_WORDS == sentences.STREET_WORDS
    assert hits._ADDRESS_EN_TAIL in pt.ADDRESS_EN.pattern
    skipped = matched = 0
    for compact in _all_corpus_views():
        scan = prescan.scan(compact)
        twin = sentences._STREET_AFTER_SPACE.search(compact) is not None
        assert scan.street is twin, compact
        if pt.ADDRESS_EN.search(compact) is not None:
            assert scan.street, compact
            matched += 1
        elif scan.digits != sentences.NO_DIGIT and not scan.street:
            skipped += 1
    assert matched > 0
    assert skipped > matched
    for text, street in (
        ("Please send it to 12 Baker St, London.", True),
        ("ship to 5 elm\u2003drive", True),  # any whitespace sre's \s matches
        ("It ships within 48 hours and instalments carry no extra fee.", False),  # "st" in a word
        ("street", False),  # no whitespace before it
        ("12 main\nroad", True),
    ):
        assert prescan.scan(build_view(text).compact).street is street, text
    paid_not = CheckContext(platform="taobao", recipient_is_paying_buyer=False)
    assert "privacy" in {
        f.code
        for f in check_text("Sure, I'll ship it to 221 Baker Street.", context=paid_not).findings
    }


def test_literals_and_negations_dropped_by_script_could_never_be_found():
    """Per scan script, hits drops the required and contrast literals that cannot occur in such
    a text (a CJK character in a text with none, two a-z in a row in a text with none) and the
    negation alternatives whose every literal start is such a literal (decisions §121): on
    every corpus text and variant, each literal check and each negation search over every
    sentence and the whole text answers as the unfiltered one does; and the drop is live (an
    English reply's card-fee negation loses its Chinese alternatives)."""
    from kefu.compliance import concepts, hits, prescan

    plans = [plan for plans in hits._PLANS.values() for plan in plans]
    parts = [
        part
        for plan in hits._CONCEPT_PLANS
        for part in (plan.act, plan.topic, plan.cancel)
        if part.present
    ]
    needs = [(plan.after, plan.after_by) for plan in plans] + [
        (plan.anywhere, plan.anywhere_by) for plan in plans
    ]
    needs += [
        (need, [by[i] for by in part.required_by])
        for part in parts
        for i, need in enumerate(part.required)
    ]
    contrast = (concepts.CONTRAST_LITERALS,)
    dropped = 0
    for compact in _all_corpus_views():
        scan = prescan.scan(compact)
        script = scan.script
        windows = [*scan.sentences, (0, len(compact))]
        for need, by_script in needs:
            if need is None:
                continue
            for start, end in windows:
                assert hits._has_all(compact, need, start, end) == hits._has_all(
                    compact, by_script[script], start, end
                ), (need, compact)
        for start, end in windows:
            assert hits._has_all(compact, contrast, start, end) == hits._has_any(
                compact, hits._CONTRAST_BY_SCRIPT[script], start, end
            ), compact
        for plan in plans:
            if plan.negation is None:
                continue
            narrowed = plan.negation_by[script]
            dropped += narrowed is not plan.negation
            for start, end in windows:
                full = plan.negation.search(compact, start, end) is not None
                short = narrowed is not None and narrowed.search(compact, start, end) is not None
                assert full == short, (plan.key, compact)
    assert dropped > 0
    card = hits._PLANS["card_fee"][3]
    assert card.negation is not None
    english = card.negation_by[2]
    assert english is not None and "免" not in english.pattern and "n(?:" in english.pattern
    assert card.negation_by[3] is card.negation
    assert "不过" not in hits._CONTRAST_BY_SCRIPT[2] and "but" in hits._CONTRAST_BY_SCRIPT[2]
    assert hits._top_branches(r"a[|\]]|(b|c)|\||d") == ["a[|\\]]", "(b|c)", r"\|", "d"]
