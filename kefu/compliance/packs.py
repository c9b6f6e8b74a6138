"""The rule packs: one per platform, versioned, selected by the shop's platform.

Bump a pack's version whenever a rule is added, removed or changes severity: findings store the
code, and the version says which wording of the pack judged a message.
"""

from __future__ import annotations

from dataclasses import replace

from kefu.compliance.rules import Bilingual, Penalty, Rule, RulePack, Severity

B = Bilingual

INVOICE = Rule(
    code="invoice",
    requirement="R-22",
    severity=Severity.BLOCK,
    title=B("发票", "Invoices"),
    explanation=B(
        "买家索要发票时必须开具；发票类目跟随商品类目，不能改开其他品名；"
        "金额等于实付金额，不能多开或少开，也不能要求加税点。",
        "An invoice must always be available. Its category follows the product and cannot be "
        "switched, and its amount is what the buyer paid: never more, never less, and never "
        "for an extra tax charge.",
    ),
    alternative=B(
        "可以为您开具发票，发票类目按商品类目开具，金额与实付金额一致。",
        "We can issue an invoice for you. It follows the product category and shows the "
        "amount you paid.",
    ),
    penalty=Penalty(
        B(
            "发票投诉成立属一般违规，每次扣 6 分",
            "An upheld invoice complaint is a general violation: 6 points each time",
        ),
        points=6,
    ),
)

CARD_FEE = Rule(
    code="card_fee",
    requirement="R-23",
    severity=Severity.BLOCK,
    title=B("信用卡/分期手续费", "Card and instalment fees"),
    explanation=B(
        "买家用信用卡、花呗或分期付款是平台允许的，不能让买家另付手续费或加价。",
        "Paying by credit card, Huabei or instalments is allowed; the buyer must never be "
        "asked to add a card or instalment fee.",
    ),
    alternative=B(
        "支持信用卡和分期付款，无需额外支付手续费。",
        "You can pay by card or in instalments with no extra fee.",
    ),
    penalty=Penalty(
        B(
            "买家投诉成立即按一般违规扣分",
            "General violation: points are deducted once a buyer's complaint is upheld",
        ),
    ),
)

PRIVACY = Rule(
    code="privacy",
    requirement="R-24",
    severity=Severity.BLOCK,
    title=B("买家隐私", "Buyer privacy"),
    explanation=B(
        "订单的收货地址、电话只能告诉或按要求修改给下单付款的买家账号；"
        "对其他账号透露或修改都属于泄露买家信息。",
        "An order's address and phone may only be shown to, or changed for, the buyer "
        "account that placed and paid it. Doing so for any other account leaks buyer data.",
    ),
    alternative=B(
        "为保护买家信息，请使用下单付款的账号联系我们，我们再为您核对或修改。",
        "To protect the buyer's data, please contact us from the account that paid for the "
        "order and we will check or change it there.",
    ),
    penalty=Penalty(
        B(
            "泄露买家信息属严重违规，天猫每次扣 6 分",
            "Leaking buyer data is a serious violation: 6 points each time on Tmall",
        ),
        points=6,
    ),
)

FREE_SHIPPING = Rule(
    code="free_shipping",
    requirement="R-25",
    severity=Severity.BLOCK,
    title=B("包邮承诺", "Free-shipping promise"),
    explanation=B(
        "商品页承诺包邮时，不能在聊天里让买家补邮费（包括新疆、西藏等偏远地区），"
        "也不能发运费说明截图来收费。",
        "When the listing promises free shipping, chat must not ask for extra postage, also "
        "not for Xinjiang, Tibet or other remote regions, nor send shipping-note screenshots "
        "to charge it.",
    ),
    alternative=B(
        "这款商品包邮，偏远地区也无需补邮费，我们会尽快为您发出。",
        "This item ships free, remote regions included; there is nothing extra to pay.",
    ),
    penalty=Penalty(
        B(
            "违背包邮承诺，买家投诉成立扣分",
            "Breaking the free-shipping promise: points are deducted once a complaint is upheld",
        ),
    ),
)

REFUSE_TO_SHIP = Rule(
    code="refuse_to_ship",
    requirement="R-26",
    severity=Severity.BLOCK,
    title=B("拒绝发货", "Refusing to ship"),
    explanation=B(
        "有库存时不能拒绝发货、说 72 小时内发不了货，也不能让买家取消订单或关闭交易。",
        "While stock is available, do not refuse to ship, say it cannot ship within 72 hours, "
        "or ask the buyer to cancel the order or close the trade.",
    ),
    alternative=B(
        "商品有货，我们会在 {ship_by_hours} 小时内为您发出，发货后会第一时间通知您。",
        "The item is in stock and will ship within {ship_by_hours} hours; we will let you know "
        "as soon as "
        "it leaves.",
    ),
    penalty=Penalty(
        B("未按约定时间发货每次扣 1 分", "Not shipping in time costs 1 point each time"),
        points=1,
    ),
)

OUT_OF_STOCK = Rule(
    code="out_of_stock",
    requirement="R-28",
    severity=Severity.WARN,
    title=B("缺货", "Out of stock"),
    explanation=B(
        "下单后缺货需按成交金额的 30% 赔付买家；先给出替代方案（同款其他颜色、到货时间），"
        "不要直接让买家取消。",
        "Running out of stock after a sale costs 30% of the order in compensation; offer an "
        "alternative (another colour, a restock date) before any cancellation.",
    ),
    alternative=B(
        "非常抱歉这款暂时缺货，我们可以为您换成同款其他颜色，或者告诉您预计到货时间，您看哪种更方便？",
        "Sorry, this one is briefly out of stock. We can switch you to another colour or tell "
        "you when it is back; which would you prefer?",
    ),
    penalty=Penalty(
        B("缺货需赔付成交金额的 30%", "Compensation of 30% of the order value"),
        compensation_pct=30,
    ),
)

OFF_PLATFORM = Rule(
    code="off_platform",
    requirement="R-27",
    severity=Severity.BLOCK,
    title=B("站外交易", "Off-platform trading"),
    explanation=B(
        "不能发其他店铺或站外链接，不能引导买家加微信、QQ、WhatsApp 交易或私下转账付款。",
        "Never send links to another shop or outside site, and never move the trade or the "
        "payment to WeChat, QQ, WhatsApp or a direct transfer.",
    ),
    alternative=B(
        "为保障您的交易安全，请在平台内下单付款，有问题随时在这里联系我们。",
        "For your protection, please order and pay on the platform; you can reach us here at "
        "any time.",
    ),
    penalty=Penalty(
        B(
            "引导站外交易属严重违规，扣分并可能限制店铺",
            "Off-platform trading is a serious "
            "violation: points are deducted and the shop may be restricted",
        ),
    ),
)

BLAME_COURIER = Rule(
    code="blame_courier",
    requirement="R-30",
    severity=Severity.WARN,
    title=B("推卸给快递", "Blaming the courier"),
    explanation=B(
        "不要把责任推给快递或让买家自己去找快递；由店铺出面跟进并给出解决办法。",
        "Don't blame the courier or send the buyer off to chase it; the shop follows up and "
        "offers a solution.",
    ),
    alternative=B(
        "给您带来不便非常抱歉，我们马上联系快递核实，并给您一个解决方案。",
        "Sorry for the trouble. We are contacting the courier now and will come back with a "
        "solution for you.",
    ),
    penalty=Penalty(
        B(
            "服务质检扣分项，可能引起投诉",
            "Counts against daily service inspection and invites complaints",
        ),
    ),
)

WAIT_PATIENTLY = Rule(
    code="wait_patiently",
    requirement="R-30",
    severity=Severity.WARN,
    title=B("退款时让买家耐心等待", '"Please wait patiently" about a refund'),
    explanation=B(
        "退款、退货沟通中只说“请耐心等待”显得敷衍；要说清楚退款流程、钱退到哪里、需要多久。",
        'In refund talks, "please wait patiently" sounds dismissive; explain the steps, '
        "where the money goes and how long it takes.",
    ),
    alternative=B(
        "退款已提交，审核通过后原路退回您的支付账户，一般 {refund_days} 个工作日到账，"
        "我们会跟进进度。",
        "Your refund is submitted; once approved it goes back to the account you paid with, "
        "usually within {refund_days} business days, and we will keep track of it.",
    ),
    penalty=Penalty(
        B("服务质检扣分项", "Counts against daily service inspection"),
    ),
)

_ALL = (
    INVOICE,
    CARD_FEE,
    PRIVACY,
    FREE_SHIPPING,
    REFUSE_TO_SHIP,
    OUT_OF_STOCK,
    OFF_PLATFORM,
    BLAME_COURIER,
    WAIT_PATIENTLY,
)


def _softened(rule: Rule) -> Rule:
    return replace(rule, severity=Severity.WARN)


# Parcel tracking sites: scripts must be able to give the buyer one, and a tracking
# page is neither another shop nor a payment outside the platform.
_TRACKING_HOSTS = (
    "17track.net",
    "parcelsapp.com",
    "aftership.com",
    "track24.ru",
    "pochta.ru",
    "correos.es",
    "usps.com",
    "royalmail.com",
    "global.cainiao.com",
)
_TAOBAO_HOSTS = (
    "taobao.com",
    "tmall.com",
    "tb.cn",
    "alipay.com",
    "tmall.hk",
    "cainiao.com",
    *_TRACKING_HOSTS,
)

PACKS: dict[str, RulePack] = {
    "tmall": RulePack(
        platform="tmall", version="tmall-2026.1", rules=_ALL, own_hosts=_TAOBAO_HOSTS
    ),
    "taobao": RulePack(
        platform="taobao", version="taobao-2026.1", rules=_ALL, own_hosts=_TAOBAO_HOSTS
    ),
    # AliExpress buyers rarely ask for a Chinese fapiao; a refusal is still worth a second look.
    "aliexpress": RulePack(
        platform="aliexpress",
        version="aliexpress-2026.1",
        rules=tuple(_softened(r) if r.code == "invoice" else r for r in _ALL),
        own_hosts=(
            "aliexpress.com",
            "aliexpress.us",
            "aliexpress.ru",
            "alibaba.com",
            "cainiao.com",
            *_TRACKING_HOSTS,
        ),
    ),
    # A shop's own site or widget: no marketplace polices it, so only buyer privacy blocks; the
    # rest still warns because it is what buyers complain about anywhere. Links are its own.
    "generic": RulePack(
        platform="generic",
        version="generic-2026.1",
        rules=tuple(
            r if r.code == "privacy" else _softened(r) for r in _ALL if r.code != "off_platform"
        ),
    ),
}

PLATFORMS = tuple(PACKS)


def pack_for(platform: str) -> RulePack:
    try:
        return PACKS[platform]
    except KeyError:
        raise ValueError(
            f"unknown platform {platform!r}; expected one of {', '.join(PACKS)}"
        ) from None
