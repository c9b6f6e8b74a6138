"""Targeted patterns per rule code, written against the folded, de-spaced view of a message.

The view is lower-case and simplified Chinese with ASCII punctuation where NFKC gives it
("，" becomes ","), so patterns use `,` `!` `?` `;` and the full stop `。`.

Each pattern says what cancels it: a negation just before it in the same clause ("不用补邮费",
"no extra fee"), a conditional clause ("如果不发货..."), or an exemption anywhere in the same
sentence (a return address, "until you pay").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kefu.compliance.anchors import literal_prefixes, required_literals

# A gap that stays inside one sentence (commas allowed).
G = r"[^。!?;\n]"
# The same for English: a full stop only counts inside a number ("0.8").
EG = r"(?:[^.!?;\n]|\.(?=\d))"
W = r"(?:[a-z']+\s+)"  # one English word and its space

# The view is case-folded already; patterns are written in lower case.
_RE_FLAGS = 0


# Chat English drops the apostrophe ("we dont ship", "cant") and shortens "please" ("pls").
# Patterns are written in the full spelling; every compiled pattern also accepts the short ones.
_CONTRACTION = re.compile(r"\b(don|can|won|doesn|isn|aren|didn|wasn|couldn|haven|hasn)'t")
_PLEASE = re.compile(r"\bplease\b")


def chat_spellings(pattern: str) -> str:
    """The pattern with "n't" also matching "nt" and "please" also "pls"/"plz"."""
    pattern = _CONTRACTION.sub(r"\1'?t", pattern)
    return _PLEASE.sub("(?:please|pls|plz)", pattern)


def rx(pattern: str) -> re.Pattern[str]:
    """Compile a pattern; ``{G}`` and ``{EG}`` stand for the in-sentence gaps above."""
    return re.compile(chat_spellings(pattern.replace("{G}", G).replace("{EG}", EG)), _RE_FLAGS)


# Amounts in Chinese number words as well as digits: "加一个点", "补二十", "百分之六".
ZH_NUM = r"[\d.一二两三四五六七八九十百千半]+"
# A percentage in English as "3%", "3 percent" or "three per cent".
EN_PERCENT = (
    r"(?:[\d.]+ ?%|(?:[\d.]+|one|two|three|four|five|six|seven|eight|nine|ten|half a) ?"
    r"(?:percent|per cent)\b)"
)
# Who pays, asked of the buyer: "要您自己付", "由买家承担", "您这边出" (not "您付的运费我们退").
WHO_PAYS_ZH = (
    r"(?:(?:您|你|亲|买家)(?:这边|那边|自己)来?|(?:要|得|需要?|请|由)(?:您|你|亲|买家)"
    r"(?:这边|那边|自己)?来?|"
    # the modal after the payer: "您得自己出", "买家需要承担" (not "您付的运费我们退")
    r"(?:您|你|亲|买家)(?:这边|那边)?(?:要|得|需要?|还得|还要)(?:自己)?来?)"
    r"(?:出|付|承担|负担|支付)(?![货发具示现款])"
)
# Card schemes name the card as well as "credit card" does.
CARD_SCHEMES = r"(?<![a-z])(?:visa|amex)(?![a-z])|mastercard|unionpay|银联|万事达"


@dataclass(frozen=True, slots=True)
class Pattern:
    regex: re.Pattern[str]
    # Searched in the clause window before the hit and in the hit itself.
    negation: re.Pattern[str] | None = None
    # Cancel when the sentence before the hit opens a condition ("如果", "if").
    conditional_ok: bool = False
    # Cancel when found anywhere in the sentence holding the hit.
    exempt: re.Pattern[str] | None = None
    # Only applies when the whole message also contains this.
    requires: re.Pattern[str] | None = None
    window: int = 30
    # "zh", "en" or "any": which script the pattern needs, so a message skips the other's.
    script: str = "any"
    # Every match starts with one of these (None: not a literal start; searched instead).
    prefixes: frozenset[str] | None = None
    # Every match contains one of these further on (None: nothing literal to require); a
    # message without any of them skips the pattern.
    required: frozenset[str] | None = None


def p(
    pattern: str,
    *,
    negation: re.Pattern[str] | None = None,
    conditional_ok: bool = False,
    exempt: str | None = None,
    requires: str | None = None,
    window: int = 30,
) -> Pattern:
    has_cjk = re.search(r"[\u4e00-\u9fff]", pattern) is not None
    has_latin = re.search(r"(?<!\\)[a-z]{2,}", pattern) is not None
    compiled = rx(pattern)
    return Pattern(
        prefixes=literal_prefixes(compiled.pattern),
        required=required_literals(compiled.pattern),
        script="zh" if has_cjk and not has_latin else "en" if has_latin and not has_cjk else "any",
        regex=compiled,
        negation=negation,
        conditional_ok=conditional_ok,
        exempt=rx(exempt) if exempt else None,
        requires=rx(requires) if requires else None,
        window=window,
    )


CONDITIONAL = rx(
    r"(?:如果|假如|要是|若是|若|万一|一旦|\bif\b|\bin case\b|\bshould you\b|\bunless\b)"
)

_EN_NEG = (
    r"\b(?:no|not|never|without|don't|do not|doesn't|does not|won't|will not|can't|cannot|"
    r"isn't|aren't|nor|zero|free|waived?)\b|n't\b"
)

# ---------------------------------------------------------------- invoice
_INVOICE_NEG = rx(
    r"不能|不可以|不会|无法|没法|不允许|不得|严禁|禁止|不可|只能|按照?实际|如实|" + _EN_NEG
)
INVOICE = (
    # Refusing outright.
    p(
        r"(?:不|没法|无法|不能|不可以|不支持|不提供|暂不|暂时不|拒绝|没有|没|无|开不了|开不出)"
        r"(?:给您?|帮您|为您)?(?:能|可以|再)?(?:开具?|提供|出具|寄|补开?)?(?:发票|开票|税票|票据)",
        conditional_ok=True,
        exempt=r"没有?收到|没有?寄到|没到|还没开好|正在开",
    ),
    p(
        r"(?:发票|开票){G}{0,4}?(?:开不了|开不出|不能开|没法开|无法开|不开|不提供|提供不了|"
        r"不给开?|没有(?!问题|关系|收到|寄到|到)|不支持)",
        conditional_ok=True,
        # a named type refused, not the invoice: "这个发票类型我们不支持", "专票暂不支持"
        exempt=r"(?:类型|种类|专票)(?:我们|这边)?(?:暂时|暂)?(?:都|也)?不支持",
    ),
    # Charging extra for it.
    p(
        r"(?:开|要|需要|含|带)(?:发票|票){G}{0,10}?(?:加|另付|另收|补|多付|收取?|额外)"
        r"{G}{0,6}?(?:税点|个点|点税|%|税费|税钱|钱|元|块)",
        negation=rx(r"不用|无需|不需要|不另|不加|不收|免费|免|没有额外"),
    ),
    # A rate named right after the invoice kind: "专票另收5%", "发票加3个点".
    p(
        r"(?:发票|专票|普票|增票|票)(?:的话)?(?:要|需要|得|需)?(?:另收|另加|加收|另付|另算|多收|加|收)"
        r"取?" + ZH_NUM + r" ?(?:%|个点|点)",
        negation=rx(r"不用|无需|不需要|不另|不加|不收|免"),
    ),
    p(
        r"(?:加|补|另付){G}{0,4}?(?:税点|个?点税|" + ZH_NUM + r"个点|[\d.]+ ?%)"
        r"{G}{0,6}?(?:开|发票|票)",
        negation=rx(r"不用|无需|不需要|不另|不加|不收|免"),
    ),
    # Inflating, deflating or re-labelling.
    p(
        r"(?:发票|票){G}{0,10}?(?:多开|开高|开大|虚开|高开|开多|多写|写高|少开|开低|往高)",
        negation=_INVOICE_NEG,
    ),
    p(
        r"(?:多开|虚开|高开|开高|开多|少开)(?:一些|一点|点)?(?:发票|票|金额)",
        negation=_INVOICE_NEG,
    ),
    p(
        r"(?:比|超过|高于|多于|低于|少于)实(?:际支)?付(?:金额|的钱)?(?:多|高|少|低)?",
        negation=_INVOICE_NEG,
        requires=r"票",
    ),
    p(
        r"(?:开成|写成|改成|换成|改为|开为|写为)[\u4e00-\u9fff]{1,8}?类?的?(?:发票|票)",
        negation=_INVOICE_NEG,
    ),
    p(
        r"\b(?:list|put|write|label|mark|issue|record|book)\s+(?:it|them|this|that|the \w+)\s+"
        r"(?:as|under)\s+[\"'“]?(?:office supplies|consulting|services?|materials|consumables|"
        r"software|stationery|other goods)",
        negation=rx(_EN_NEG),
        requires=r"invoice|fapiao",
    ),
    p(
        r"(?:发票|开票)金额{G}{0,6}?(?:改|调|写|开)(?:成|到|高|大|低|多)",
        negation=_INVOICE_NEG,
    ),
    p(
        r"(?:发票|票){G}{0,12}?(?:改成|改开|开成|写成|换成|改为|开为)",
        negation=_INVOICE_NEG,
    ),
    p(
        r"(?:可以|帮您|给您|为您)(?:改|换)(?:开)?(?:发票)?的?(?:类目|品名|项目|内容|抬头类目)",
        negation=_INVOICE_NEG,
    ),
    # English.
    p(
        r"\b(?:no|not|never|don't|do not|doesn't|does not|can't|cannot|can not|won't|will not|"
        r"unable to|not able to)\s+" + W + r"{0,3}?(?:issue|provide|give|offer|send|include|"
        r"supply|have|do|make|write)\s+" + W + r"{0,2}?(?:invoices?|fapiao|vat receipts?)\b",
        conditional_ok=True,
        exempt=r"\bnot (?:yet )?received\b|haven't received|has not arrived|hasn't arrived|"
        r"separately|\bby (?:post|e-?mail)\b|in the (?:box|parcel|package)|"
        r"with the (?:parcel|goods)",
    ),
    p(
        r"\b(?:invoices?|fapiao)\s+(?:is|are)\s+(?:not\s+(?:available|possible|provided|issued)|"
        r"unavailable)",
        conditional_ok=True,
    ),
    p(
        r"\b(?:invoices?|fapiao)\b" + EG + r"{0,30}?(?:e(?<!\we)xtra\b|a(?<!\wa)dditional\b|"
        r"surcharge|a(?<!\wa)dd\b|p(?<!\wp)lus\b|c(?<!\wc)osts?\b|tax point)",
        negation=rx(_EN_NEG + r"|\bincluded\b"),
    ),
    p(
        r"\b(?:extra|additional|add|plus|pay)\s+"
        + W
        + r"{0,3}?(?:[\d.]+ ?%|tax|fee|charge)\s+"
        + W
        + r"{0,3}?(?:invoices?|fapiao)\b",
        negation=rx(_EN_NEG),
    ),
    p(
        r"\b(?:higher|bigger|larger|inflated?|increase|raise|lower|smaller|reduce)\b"
        + EG
        + r"{0,25}?\b(?:invoices?|fapiao)\b",
        negation=rx(_EN_NEG + r"|\bexactly\b"),
    ),
    p(
        r"\b(?:invoices?|fapiao)\b" + EG + r"{0,25}?(?:h(?<!\wh)igher\b|b(?<!\wb)igger\b|"
        r"l(?<!\wl)arger\b|i(?<!\wi)nflated?\b|more than (?:you |the )?paid|"
        r"l(?<!\wl)ower amount\b|s(?<!\ws)maller amount\b)",
        negation=rx(_EN_NEG + r"|\bexactly\b"),
    ),
    p(
        r"\b(?:invoices?|fapiao)\b" + EG + r"{0,40}?\b(?:as|to|into|under)\b\s*[\"'“]?"
        r"(?:office supplies|consulting|services?|materials|consumables|software|stationery|"
        r"other goods|a different (?:category|item))",
        negation=rx(_EN_NEG),
    ),
    p(
        r"\b(?:change|switch|alter|modify)\s+" + W + r"{0,2}?(?:invoice|fapiao)\s+"
        r"(?:category|item|type|description|product name|content)",
        negation=rx(_EN_NEG),
    ),
)

# ---------------------------------------------------------------- card_fee
# The card-fee negation in words, as the concepts read it (split at its alternatives, each keyed
# on its own literal start by the automaton).
CARD_NEG_WORDS = (
    r"免|不收|不另|不额外|不加|(?<!储蓄卡就)(?<!借记卡就)(?<!余额就)(?<!现金就)(?<!支付宝就)不用|"
    r"无需|不需要?|无额外|没有|无手续费|0手续费|零手续费|我们承担|店铺承担|商家承担|卖家承担|"
    r"我们来承担|我们出|不会|" + _EN_NEG + r"|\bnothing\b|\bwe (?:cover|pay|absorb)\b"
    r"|\bat no\b|\bno extra\b|\bincluded\b"
)
# The same words as the patterns search them in a window before each hit. Every alternative
# starts with a literal character (a word edge is checked by a look-behind after the first
# letter: "n(?<!\wn)o" is "\bno"), so the regex engine skips to those characters instead of
# trying ~35 alternatives at every position; "\bat no\b" and "\bno extra\b" are covered by
# "\bno\b"; the chat spellings ("dont", "cant") are written in. It finds a match in exactly
# the windows CARD_NEG_WORDS does (checked on 100,009 windows of the corpus replies).
CARD_NEG = _CARD_NEG = rx(
    r"免|不收|不另|不额外|不加|不(?<!储蓄卡就不)(?<!借记卡就不)(?<!余额就不)(?<!现金就不)(?<!支付宝就不)用|"
    r"无需|不需要?|无额外|没有|无手续费|0手续费|零手续费|我们承担|店铺承担|商家承担|卖家承担|"
    r"我们来承担|我们出|不会|"
    r"n(?:'t\b|(?<!\wn)(?:o|ot|ever|or|othing)\b)|"
    r"w(?<!\ww)(?:ithout|on'?t|ill not|aived?|e (?:cover|pay|absorb))\b|"
    r"d(?<!\wd)(?:on'?t|o not|oesn'?t|oes not)\b|"
    r"c(?<!\wc)(?:an'?t|annot)\b|"
    r"i(?<!\wi)(?:sn'?t|ncluded)\b|"
    r"a(?<!\wa)(?:ren'?t|t no)\b|"
    r"z(?<!\wz)ero\b|"
    r"f(?<!\wf)ree\b"
)
CARD_EXEMPT = _CARD_EXEMPT = (
    r"(?:由|是)?(?:我们|店铺|商家|卖家|本店|店里)(?:来)?(?:承担|出|付|包|吸收)|"
    r"\bwe(?:'ll| will)? (?:cover|pay|absorb)\b|\bon us\b|\b(?:covered|paid|borne) by us\b|"
    # the fee is someone else's, not added by the shop: "手续费是花呗收的，不是我们加的"
    r"不是(?:我们|店里|店铺|商家)(?:加|收)"
)
_CARD_WORDS = (
    r"信用卡|花呗|分期|刷卡|白条|银行卡|借记卡|手续费|\bcards?\b|instal|\bhuabei\b|" + CARD_SCHEMES
)
_FOR_CARD = (
    W
    + r"{0,3}?(?:for|on|when|if|with)\s+"
    + W
    + r"{0,3}?(?:credit cards?|cards?|instal?l?ments?|paying by card|card payments?|huabei)\b"
)
CARD_FEE = (
    p(
        r"(?:信用卡|花呗|分期|刷卡|白条|借记卡)" + G + r"{0,12}?(?:手续费|加收|另收|加价|费率|"
        r"服务费|加[\d.]+ ?%|加" + ZH_NUM + r"个?点|多付|多收|补差价|[\d.]+ ?%的?(?:手续费|费用)?)",
        negation=_CARD_NEG,
        exempt=_CARD_EXEMPT,
    ),
    p(
        r"(?:手续费|费率)" + G + r"{0,6}?(?:由?(?:您|买家|亲)(?:来|自己)?(?:承担|出|付|支付)|"
        r"自理|另付|另算|需要?(?:您|亲)?(?:另外)?(?:支付|付|承担|补))",
        negation=_CARD_NEG,
        exempt=_CARD_EXEMPT,
    ),
    p(
        r"(?:请|需要|要|得|麻烦)(?:您|亲)?"
        + G
        + r"{0,4}?(?:补|加|付|多付|承担)"
        + G
        + r"{0,4}?(?:[\d.]+ ?%|"
        + ZH_NUM
        + r"个点)(?:的)?(?:手续费|费用|服务费)?",
        negation=_CARD_NEG,
        exempt=_CARD_EXEMPT,
        requires=_CARD_WORDS,
    ),
    p(
        r"\b(?:credit cards?|card payments?|paying by card|pay by card|instal?l?ments?|"
        r"installment plan|huabei|debit cards?)\b" + EG + r"{0,40}?(?:f(?<!\wf)ees?\b|surcharge|"
        r"e(?<!\we)xtra\b|a(?<!\wa)dditional\b|add(?:ed)?\s+[\d.]+ ?%|plus\s+[\d.]+ ?%|"
        + EN_PERCENT
        + ")",
        negation=_CARD_NEG,
        exempt=_CARD_EXEMPT,
    ),
    # A fee, or a rate, for paying by card. Two patterns: the words are keyed by the automaton;
    # the rate starts with a digit, which the regex engine scans for itself (searched as one
    # pattern, no position could be skipped: every place was tried for all three starts).
    p(
        r"(?:\bfees?\b|surcharge)\s+" + _FOR_CARD,
        negation=_CARD_NEG,
        exempt=_CARD_EXEMPT,
    ),
    p(
        r"[\d.]+ ?%\s+" + _FOR_CARD,
        negation=_CARD_NEG,
        exempt=_CARD_EXEMPT,
    ),
    p(
        # asked of the buyer, or announced by the shop: "we'll need to add a processing fee"
        r"\b(?:(?:please|kindly|you need to|you have to|you must|you'll need to|you will need to)"
        r"\s+|we(?:'ll| will)? (?:need to|have to|must) (?=add|charge)|we (?=add|charge))"
        + W
        + r"{0,3}?(?:add|pay|cover|charge)\s+"
        + W
        + r"{0,3}?(?:"
        + EN_PERCENT
        + "|(?:card|processing|transaction|handling|bank) fees?)",
        negation=_CARD_NEG,
        exempt=_CARD_EXEMPT,
        requires=_CARD_WORDS + r"|processing|transaction|bank fee",
    ),
)

# ---------------------------------------------------------------- privacy
# Only consulted when the recipient is known not to be the paying buyer.
PRIVACY_EXEMPT = rx(
    r"退货地址|退回地址|寄回|退回到|寄到我们|寄给我们|我们的地址|仓库地址|售后地址|"
    # the shop's own lines and places: "退货请寄…仓库", "收件人写售后组", "our support line"
    r"退货请寄|寄到[^。!?;]{0,12}?仓库|售后|客服|support line|helpline|"
    r"return address|send it back|return it to|ship it back|our warehouse|our address"
)
_PRIVACY_NEG = rx(r"不能|无法|不可以|不会|没法|不方便|不予|" + _EN_NEG)
PRIVACY = (
    p(
        r"(?:收货)?(?:地址|电话|手机号?|收货人|收件人|联系方式)"
        + G
        + r"{0,8}?(?:已|已经)?(?:帮您|给您|为您)?(?:改好|修改好?|改成|更改|换成|改了|更新|改为)",
        negation=_PRIVACY_NEG,
    ),
    p(
        r"(?:帮您|给您|为您|已经?|可以)(?:把)?(?:修改|更改|改|换)(?:了|好)?(?:收货|收件)?"
        r"(?:地址|电话|手机号?|收货人|收件人)",
        negation=_PRIVACY_NEG,
    ),
    p(
        r"(?:帮您|给您|为您|已经?)(?:把)?(?:收货)?(?:地址|电话|手机号?)"
        + G
        + r"{0,6}?(?:改|换|修改|更改)",
        negation=_PRIVACY_NEG,
    ),
    p(
        r"(?:收货人|收件人|买家|下单人)(?:的)?(?:电话|手机号?|地址|姓名|联系方式)(?:是|为|:)",
        negation=_PRIVACY_NEG,
    ),
    p(
        r"\b(?:changed|updated|modified|corrected|will change|will update|can change|can update|"
        r"have changed|'ve changed|'ve updated)\s+"
        + W
        + r"{0,3}?(?:address|phone|phone number|shipping details|recipient|contact number)\b",
        negation=_PRIVACY_NEG,
    ),
    p(
        r"\b(?:the )?(?:buyer|recipient|customer|receiver)(?:'s)? (?:phone(?: number)?|address|"
        r"name|contact number) (?:is|was)\b",
        negation=_PRIVACY_NEG,
    ),
)
ADDRESS_ZH = rx(
    r"[\u4e00-\u9fff]{2,8}?(?:省|自治区|市(?![场面价民])|区|县)[\u4e00-\u9fff\w-]{0,30}?"
    r"\d+(?:号楼|号|栋|幢|室|单元|弄)"
)
# "\b\d{1,5}" written as a digit not after a word character: a regex opening with a digit class
# lets `re` skip to the next digit instead of trying every position (decisions §68).
ADDRESS_EN = rx(
    r"\d(?<!\w\d)\d{0,4}\s+(?:[a-z]+\s+){1,4}(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr|"
    r"boulevard|blvd|way|court|ct)\b"
)

# ---------------------------------------------------------------- free_shipping
_SHIP_NEG = rx(
    r"不用|无需|不需要?|不必|免|包邮|不收|不会|没有|不另|不加|也包|都包|我们承担|我们出|运费险|赔付|"
    + _EN_NEG
    + r"|\bnothing\b|\bwe(?:'ll| will)? (?:pay|cover|absorb)\b|\bon us\b|\bincluded\b"
)
_REMOTE = r"(?:新疆|西藏|偏远|青海|内蒙古?|宁夏|甘肃|海南|港澳台|香港|澳门|台湾|海外|边远)"
FREE_SHIPPING = (
    p(
        r"(?:补|加|另付|另收|另加|多付|支付|付|拍|收取?|需要)"
        + G
        + r"{0,4}?(?:邮费|运费|快递费|邮资|差价运费)(?!险)",
        negation=_SHIP_NEG,
    ),
    p(
        _REMOTE + G + r"{0,12}?(?:不包邮|不免邮|不包|加\d+元|补\d+元|另加|另收|需补|要补|加收|"
        r"收\d+|加钱|补钱)",
        negation=_SHIP_NEG,
    ),
    p(
        r"(?:邮费|运费|快递费)" + G + r"{0,6}?(?:自理|到付|另算|另计|另付|需要?您|"
        r"您来?(?:出|付|承担)|买家承担|" + WHO_PAYS_ZH + ")",
        negation=_SHIP_NEG,
    ),
    p(r"(?:不包邮|不免邮|不免运费)"),
    p(r"(?:运费|邮费)(?:说明|模板|规则|标准)" + G + r"{0,8}?截图"),
    p(
        r"\b(?:pay|add|cover|charge|send|transfer|need)\s+"
        + W
        + r"{0,3}?(?:shipping|postage|freight|delivery)\s*(?:fees?|costs?|charges?|price|"
        r"difference)\b",
        negation=_SHIP_NEG,
    ),
    p(
        r"\b(?:extra|additional)\s+(?:shipping|postage|freight|delivery)\b",
        negation=_SHIP_NEG,
    ),
    p(
        r"(?:shipping|postage|delivery|freight) surcharge",
        negation=_SHIP_NEG,
    ),
    p(
        # the remote regions by name, as _REMOTE names them in Chinese
        r"\b(?:xinjiang|tibet|remote areas?|remote regions?|outlying|qinghai|inner mongolia|"
        r"ningxia|gansu|hainan|hong kong|macau|macao|taiwan)\b"
        + EG
        + r"{0,30}?(?:\bextra\b|\badditional\b|surcharge|\bcosts?\b|\bfees?\b|\bpay\b|\$\d|"
        r"\d+ ?(?:yuan|rmb|usd|dollars))",
        negation=_SHIP_NEG,
    ),
)

# ---------------------------------------------------------------- refuse_to_ship
_SHIP_REFUSAL_EXEMPT = (
    r"未付款|没付款|没有付款|付款前|付款之前|拍下前|\buntil (?:you |the )?(?:pay|payment)|"
    r"\bbefore (?:you pay|payment|the payment)|\bunpaid\b|"
    # a carrier named or offered ("顺丰发不了,给您发圆通可以吗", "can't ship with DHL, FedEx
    # instead?") is about which courier, not whether it ships
    r"(?:发|寄|走|改|换|用)(?:成|寄|发)?(?:顺丰|中通|圆通|韵达|申通|极兔|邮政|京东|德邦|ems)|"
    r"\b(?:by|via|with) (?:dhl|fedex|ups|usps|ems|tnt|gls|dpd|sf express|cainiao)\b"
)
_SHIP_VERB = (
    # each spelled out: an optional part would leave "go"/"be " as the automaton key
    r"\b(?:ships?|dispatch(?:es)?|send (?:it )?out|go out|goes out|leaves?|"
    r"be shipped|be sent|be dispatched)\s+"
)
_ABOUT = r"(?:about |around |approximately |roughly |at least )?"
REFUSE_TO_SHIP = (
    p(
        r"(?:不|没法|没办法|没有办法|无法|不能|不可以|暂时?不|拒绝)(?:能|可以|给您|给|会|再|帮您|想|打算)?"
        r"(?:发货|发出|寄出|出货|安排发货|给您发|发|寄)"
        r"(?!票|错|漏|重复|邮件|链接|图|照片|消息|信息|过来|给我|视频|语音|火|现|生|展|挥|言|表|布|"
        # the courier or the postage, not whether it ships: "不发顺丰", "没办法发到付"
        r"顺丰|京东|邮政|ems|包邮|免邮|到付)",
        conditional_ok=True,
        exempt=_SHIP_REFUSAL_EXEMPT,
    ),
    p(
        # "发不了顺丰/包邮" is about the courier or the postage, not whether it ships.
        r"(?:发不了|发不出|寄不了|寄不出|没法发|发货不了|出不了货)(?!包邮|免邮|顺丰|京东|邮政|ems|快递)",
        conditional_ok=True,
        exempt=_SHIP_REFUSAL_EXEMPT,
    ),
    p(
        r"(?:要|得|需要|至少){G}{0,4}?(?:(?:[4-9]|[1-9]\d|[四五六七八九十]+)个?(?:天|日)|半个月|"
        r"(?:一|两|1|2)个?(?:周|星期|礼拜|月))(?:以?后|之后)?(?:才(?:能)?|再)(?:发|寄|安排|出货|出)",
    ),
    p(
        r"(?:请|麻烦|您|亲|建议)(?:您|亲)?" + G + r"{0,6}?(?:取消订单|取消一下订单|把订单取消|"
        r"关闭订单|关闭交易|关掉订单|退款重拍|取消交易|拍下退款)",
        conditional_ok=True,
        # "您不用取消订单" tells the buyer the opposite.
        negation=rx(r"不用|无需|不需要|不必|没必要|别|不要|不会"),
        window=8,
    ),
    p(
        r"\b(?:can't|cannot|can not|won't|will not|unable to|not able to|we don't|we do not|"
        r"refuse to)\s+" + W + r"{0,2}?(?:ship|send|dispatch|deliver|post|"
        r"get (?:it|this|them|the order|your order) out)\b"
        r"(?!\s+(?:to (?:a )?(?:po box|p\.o\.)|the invoice|photos?|pictures?|e-?mails?|links?|"
        r"duplicates?|the wrong))",
        conditional_ok=True,
        exempt=_SHIP_REFUSAL_EXEMPT,
    ),
    p(
        r"\b(?:please|kindly|you should|you can just|just|you'd better|better|best to|"
        r"better to|you may want to|suggest you)\s+"
        + W
        + r"{0,2}?(?:cancel\b(?!\s+(?:the |your |this )?(?:return|refund|request|dispute|"
        r"complaint|application|subscription))"
        r"(?:\s+(?:the |your |this )?(?:order|trade|purchase))?|"
        r"close\s+(?:the |your |this )?(?:order|trade|purchase))",
        conditional_ok=True,
        negation=rx(_EN_NEG.replace(r"|free|waived?", "") + r"|\bno need\b"),
        window=12,
    ),
    # "only go out in about two weeks": the verb and an approximate amount of time.
    p(
        _SHIP_VERB
        + W
        + r"{0,2}?(?:in|within|after)\s+"
        + _ABOUT
        + r"(?:\d+|a few|several|one|two|three|four|"
        r"a couple of)\s+weeks?",
    ),
    p(
        _SHIP_VERB
        + W
        + r"{0,2}?(?:in|within|after)\s+"
        + _ABOUT
        + r"(?:[4-9]|[1-9]\d|four|five|six|seven|"
        r"eight|nine|ten|fourteen|twenty|thirty|several)\s+days?",
    ),
    p(r"\b(?:next|in a) month\b(?=" + EG + r"{0,20}\b(?:ship|send|dispatch))"),
)
# Claims that nothing is in stock: a refusal when stock exists, a cost when it truly does not.
STOCK_EXCUSE = (
    p(
        r"(?:请|麻烦|您|亲|建议)(?:您|亲)?" + G + r"{0,6}?申请(?:一下)?退款",
        conditional_ok=True,
        requires=r"没货|缺货|断货|库存|卖完|售罄|没有货|货源",
    ),
    p(
        r"(?:没货|缺货|断货|卖完了?|售罄|没有货|没库存|库存不足|库存不够|无货|断码|库存没了|没有库存|"
        # chat spellings of 没有: "木有货", "冇货"
        r"木有货|冇货|"
        r"补不上货?|补不到货|进不到货)",
        # "有货" negates, but not inside the hit's own "没有货"/"木有货" (the look-behind after
        # the literal start, so the regex engine still skips to "有": decisions §68)
        negation=rx(r"不会|不缺|不会断|不用担心|有(?<![没木冇]有)货|现货充足|不是"),
    ),
    p(
        r"\b(?:out of stock|sold out|no stock|no longer in stock|not in stock|no more stock|"
        r"run out|ran out|nothing left|none left|no more left|all gone|"
        r"(?:size|colou?r|item|model|stock|one|ones) (?:is|are) (?:all )?gone)\b",
        negation=rx(r"\b(?:not|never|won't|isn't|aren't|no need to worry|nothing is)\b"),
    ),
)

# ---------------------------------------------------------------- off_platform
_OFF_NEG = rx(
    r"不要|请勿|切勿|勿|别|不会|不能|不可以|不支持|禁止|严禁|不用|不加|不允许|不接受|谨防|小心|警惕|没有|"
    r"只在|只能|不提供|\bavoid\b|\bbeware\b|\bonly\b|" + _EN_NEG
)
OFF_PLATFORM = (
    p(
        r"(?:微信|威信|薇信|徽信|v信|薇心|微心|威心|企微|扣扣|企鹅号|私聊我|"
        r"(?<![a-z0-9])(?:vx|wx|weixin|wechat|whats ?app|telegram|qq|skype|viber|line id)"
        r"(?![a-z0-9-]))",
        negation=_OFF_NEG,
        # the channel named, then refused: "微信我们是不加的", "line就不用了"
        exempt=r"(?:微信|qq|vx|wx|whats ?app|telegram|line)(?:我们|我|号)?(?:是|都|也|就)?"
        r"(?:不加|不用|不能加|不可以加|加不了|不支持|不方便)|"
        # ...or refused before it: "微信支付在平台里选就行，不用加我们微信"
        r"(?:不用|不需要|无需|没必要|不必)(?:再)?加(?:我|我们)?的?(?:微信|qq|vx|wx|v信)",
    ),
    p(
        r"(?:私下|线下|直接)" + G + r"{0,4}?(?:交易|转[账帐]|付款|打款|汇款|支付|买卖)",
        negation=_OFF_NEG,
        # a platform payment method paid "directly": "信用卡可以直接付款"
        exempt=r"(?:信用卡|花呗|白条|分期|储蓄卡|银行卡)(?:也|都)?(?:可以|能)?直接(?:付款|支付)",
    ),
    p(
        r"(?:转[账帐]|打款|汇款|转钱)(?:给我|到我|给店主|到(?:我们的?)?(?:支付宝|银行卡|账户|卡上))",
        negation=_OFF_NEG,
    ),
    p(
        r"(?:支付宝|银行卡|卡号|收款码|二维码|银行账户)"
        + G
        + r"{0,8}?(?:转账|转给|付款给|打款|扫码|汇款|转过来)",
        negation=_OFF_NEG,
    ),
    p(r"(?:扫码|扫一下|扫这个码)" + G + r"{0,4}?(?:付款|支付|转账)", negation=_OFF_NEG),
    p(r"(?:收款码|收钱码|二维码|付款码)", negation=_OFF_NEG),
    p(
        r"(?:另一家|另外一家|其他|别的|我们的?另一个|另一个|隔壁|新开的|我家另一个|我们自己的)"
        r"(?:店铺|店|网店|小店|淘宝店|天猫店|网站|官网)",
        negation=_OFF_NEG,
    ),
    p(
        r"(?:拼多多|闲鱼|抖音小店|抖音店|快手小店|\bpdd\b|京东(?!快递|物流|配送)|"
        r"\b(?:ebay|amazon|shopee|temu|taobao|tmall|aliexpress)\b(?= (?:store|shop)))",
        negation=_OFF_NEG,
    ),
    p(
        r"\b(?:pay|paying|payment|transfer|send (?:the |your )?money|wire)\s+"
        + W
        + r"{0,3}?(?:directly|outside|off (?:the )?platform|via paypal|by paypal|"
        r"via western union|by bank transfer|via bank transfer|"
        r"to my (?:account|bank|paypal|alipay)|"
        r"through (?:paypal|wise|western union|(?:a |my )?bank))",
        negation=_OFF_NEG,
    ),
    p(
        # PayPal alone is a checkout method on AliExpress; paying a person by it is matched
        # where the payment goes ("via paypal", "to my paypal").
        r"\b(?:bank transfer|western union|moneygram|venmo|zelle|cash app)\b",
        negation=_OFF_NEG,
    ),
    p(
        r"\b(?:order|buy|purchase|pay)\s+" + W + r"{0,3}?(?:from|on|at|in|via|through)\s+"
        r"(?:our|my)\s+(?:own\s+|other\s+|another\s+|official\s+)?(?:website|site|web shop|"
        r"online store|store|shop)\b",
        negation=_OFF_NEG,
    ),
    p(r"\b(?:our|my) (?:other|another|second|new|sister) (?:store|shop)\b", negation=_OFF_NEG),
    p(r"\b(?:sister|partner|second|backup) (?:store|shop)s?\b", negation=_OFF_NEG),
    p(
        r"\b(?:add|message|text|contact|reach|find)\s+(?:me|us)\s+(?:on|via|at|through)\s+"
        r"(?:instagram|facebook|tiktok|line|kakao|signal|telegram|whats ?app|wechat|email|"
        r"e-mail)\b",
        negation=_OFF_NEG,
    ),
)
URL_TLDS = (
    "com",
    "cn",
    "net",
    "org",
    "me",
    "io",
    "shop",
    "store",
    "top",
    "cc",
    "co",
    "hk",
    "tw",
    "us",
    "ru",
    "xyz",
    "info",
    "link",
    "ly",
    "de",
    "uk",
)
URL = rx(r"(?:https?://)?(?:[a-z0-9-]+\.)+(?:" + "|".join(URL_TLDS) + r")\b(?:/[^\s,。]*)?")

# ---------------------------------------------------------------- style warnings
_COURIER = r"(?:快递公司|快递员|快递小哥|快递|物流公司|物流|派件员)"
# The shop taking the follow-up over ("我们已经联系快递", "我们会帮您催件", "快递那边我们来处理"):
# "we" plus a follow-up act. "我们已经发货了" alone is not one: "we shipped it, go and ask the
# courier" is the very deflection R-30 forbids. The act stays in the shop's own clause (no
# comma between, but for "我们这边,": in "我们已经发货了,你问快递吧" the asking is the buyer's)
# and is not one the shop says it cannot do ("我们这边查不到", "我们联系不上快递").
WE_FOLLOW_UP = (
    r"(?:我们?(?:这边,?)?(?:直接|来|会|已经?|正在|马上|这边)|(?<![没无]法)(?<!没办法)(?<!不能)(?<!不会)(?:帮|替|给|为)您)"
    r"[^。!?;,\n]{0,6}?(?:联系|联络|催|跟进|反馈|核实|查|"
    r"处理|登记|补发|重发|申请|理赔|沟通|投诉|协调|对接|追|问|安排|赔|答复|回复|告诉|通知)"
    r"(?![不没])"
)
BLAME_COURIER = (
    p(
        _COURIER + G + r"{0,6}?(?:的问题|的原因|的错|的责任|搞的|弄的|造成的|自己的问题|"
        r"那边的问题|不负责|(?:搞|弄|摔|压|碰)(?:丢|坏|破|碎|错)的?|丢的|丢了)",
        negation=rx(r"不是|并非|不全是|不管是"),
        window=4,
    ),
    p(
        r"(?:不是我们的(?:问题|错|责任)|跟我们(?:没|无)关|与(?:我们|本店)无关|我们不负责|"
        r"我们管不了)",
        requires=r"快递|物流|派件",
    ),
    p(
        r"(?:请您?|您|你|亲)(?:自己|自行|直接|可以|就|去)*(?:找|联系|问|问问|投诉|打电话给)"
        r"(?:一下)?" + _COURIER,
        negation=rx(WE_FOLLOW_UP),
    ),
    p(
        r"\b(?:courier|carrier|delivery company|shipping company|post office|logistics company|"
        r"delivery guy|postman)(?:'s)?\b" + EG + r"{0,20}?(?:\bfault\b|\bproblem\b|"
        r"responsibility|to blame|\bnot (?:our|us)\b)",
        negation=rx(r"\bnot (?:the|a)\b|\bisn't\b|\bwasn't\b"),
    ),
    p(
        r"\bnot our (?:fault|problem|responsibility)\b",
        requires=r"courier|carrier|delivery|shipping|post office|logistics|postman",
    ),
    p(
        r"\b(?:please |you (?:should|need to|have to|can|must|'ll have to|will have to) )"
        r"(?:\w+\s+)?(?:contact|call|ask|complain to|chase)\s+the\s+(?:courier|carrier|"
        r"post office|delivery company|shipping company|logistics company)",
    ),
)
_REFUND_TALK = (
    r"退款|退货|退钱|退回|售后|\brefund|\breturn|money back|возврат|вернут|reembolso|devoluci"
)
WAIT_PATIENTLY = (
    p(
        r"(?:请您?耐心(?:地)?(?:等(?:待|候|一下|着|等)?)?|耐心(?:地)?等(?:待|候|一下|着|等)?|耐心点)",
        negation=rx(r"感谢|谢谢|多谢|辛苦"),
        window=6,
    ),
    p(
        r"\b(?:wait patiently|be patient|patiently wait|have patience|please be patient|"
        r"wait with patience)\b",
        negation=rx(r"\bthank"),
    ),
)
REFUND_TALK = rx(_REFUND_TALK)

# Literal cues per code for the one-pass Aho-Corasick prefilter: a code's patterns only run
# when one of its cues occurs. Every pattern above contains at least one of its code's cues.
CUES: dict[str, tuple[str, ...]] = {
    "invoice": ("票", "invoice", "fapiao"),
    "card_fee": (
        "信用卡",
        "花呗",
        "分期",
        "刷卡",
        "白条",
        "借记卡",
        "手续费",
        "费率",
        "card",
        "instal",
        "huabei",
        "fee",
        "surcharge",
        "%",
    ),
    "free_shipping": (
        "邮",
        "运费",
        "快递费",
        "新疆",
        "西藏",
        "偏远",
        "青海",
        "内蒙",
        "宁夏",
        "甘肃",
        "海南",
        "港澳",
        "香港",
        "澳门",
        "台湾",
        "海外",
        "边远",
        "shipping",
        "postage",
        "freight",
        "delivery",
        "xinjiang",
        "tibet",
        "qinghai",
        "mongolia",
        "ningxia",
        "gansu",
        "hainan",
        "hong kong",
        "macau",
        "macao",
        "taiwan",
        "remote",
        "outlying",
    ),
    "refuse_to_ship": (
        "发",
        "寄",
        "取消",
        "关闭",
        "关掉",
        "退款",
        "货",
        "库存",
        "售罄",
        "卖完",
        "ship",
        "send",
        "dispatch",
        "deliver",
        "post",
        "cancel",
        "close",
        "stock",
        "sold out",
        "run out",
        "ran out",
        "month",
        "week",
        "go out",
        "goes out",
        "leave",
    ),
    "off_platform": (
        "微信",
        "威信",
        "薇信",
        "徽信",
        "v信",
        "薇心",
        "微心",
        "威心",
        "企微",
        "扣扣",
        "企鹅",
        "私聊",
        "vx",
        "wx",
        "weixin",
        "wechat",
        "whats",
        "telegram",
        "qq",
        "skype",
        "viber",
        "line",
        "私下",
        "线下",
        "直接",
        "转账",
        "打款",
        "汇款",
        "转钱",
        "支付宝",
        "银行",
        "卡号",
        "收款码",
        "二维码",
        "扫",
        "店",
        "网站",
        "官网",
        "拼多多",
        "闲鱼",
        "抖音",
        "快手",
        "pdd",
        "京东",
        "ebay",
        "amazon",
        "shopee",
        "temu",
        "taobao",
        "tmall",
        "aliexpress",
        "pay",
        "transfer",
        "money",
        "wire",
        "western union",
        "moneygram",
        "venmo",
        "zelle",
        "cash app",
        "site",
        "store",
        "shop",
        "instagram",
        "facebook",
        "tiktok",
        "kakao",
        "signal",
        "email",
        "e-mail",
        ".",
    ),
    "blame_courier": (
        "快递",
        "物流",
        "派件",
        "courier",
        "carrier",
        "delivery",
        "shipping company",
        "post office",
        "logistics",
        "postman",
        "not our",
    ),
    "wait_patiently": ("耐心", "patient", "patience"),
}
