"""Sentence-level concept rules: a topic, something done to it, and what makes it compliant.

The patterns in `patterns` are phrase-shaped and tuned for Chinese and English word order.
Agents also write Russian and Spanish, and in every language they paraphrase: a tax "on top" of
an invoice, a card price that is "a bit more", a refusal that names the forbidden thing only to
refuse it. A concept rule judges one sentence at a time:

* ``topic`` — the sentence is about the rule's subject (an invoice, a card payment, postage...);
* ``act`` — it does the forbidden thing to it (refuses, charges extra, changes the amount or the
  category, gives out details, blames, stalls);
* ``cancel`` — it says the compliant thing instead (free, no extra, as paid, from the account
  that paid, we follow it up). A cancel anywhere in the sentence wins: agents explaining a rule
  name the violation to refuse it, and a false alarm on an explanation costs more trust than
  a miss on a sentence that both offers and refuses.

All regexes run on the folded view (lower case, simplified Chinese, Latin accents stripped,
ё as е), so they are written that way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kefu.compliance import patterns as pt
from kefu.compliance.anchors import literal_prefixes


@dataclass(frozen=True, slots=True)
class Lexicon:
    """A regex split at its top-level alternatives so the scanner can try each one only where
    its literal start occurs (found by the one automaton pass). Alternatives without a literal
    start are kept together in ``rest`` and searched the ordinary way."""

    alternatives: tuple[tuple[re.Pattern[str], frozenset[str]], ...]
    rest: re.Pattern[str] | None


@dataclass(frozen=True, slots=True)
class Concept:
    code: str
    topic: Lexicon | None
    act: Lexicon
    cancel: Lexicon | None = None
    # The code a hit is reported as: several concepts may back up one rule (a refusal phrased
    # as an act alone, or as an order plus what is not done to it).
    reports: str = ""
    # Judged over the whole reply instead of one sentence: two prices for two ways of paying
    # are often two sentences ("刷卡的话是105。不刷卡100就行。").
    whole_reply: bool = False


def _alternatives(regex: str) -> list[str]:
    """Split a regex at its top-level ``|`` (outside groups, classes and escapes)."""
    parts, depth, in_class, escaped, current = [], 0, False, False, ""
    for ch in regex:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += ch
    parts.append(current)
    return parts


def lexicon(regex: str) -> Lexicon:
    anchored, rest = [], []
    for alt in _alternatives(regex):
        alt = pt.chat_spellings(alt)
        prefixes = literal_prefixes(alt)
        if prefixes is None:
            rest.append(alt)
        else:
            anchored.append((re.compile(alt), prefixes))
    return Lexicon(alternatives=tuple(anchored), rest=re.compile("|".join(rest)) if rest else None)


# A contrast after the compliant words, followed by a charge, starts what they do not cover: in
# "分期免息是平台的，不过我们要收您50服务费" the interest-free offer cancels nothing after "不过";
# in "信用卡不加钱，但是要等两天发货" nothing is charged after it, so the cancel stands.
_GAP = r"(?:[^。.!?;\n]|\.(?=\d))*?"
# The contrast words; a word of letters is matched whole ("pero", not "perol").
CONTRAST_LITERALS = (
    "不过",
    "但是",
    "可是",
    "只是",
    "but",
    "however,",
    "pero",
    "sin embargo",
    "но",
    "однако",
)
_CONTRAST = "|".join(
    word
    if "\u3400" <= word[0] <= "\u9fff"
    else r"\b" + word + (r"\b" if word[-1].isalnum() else "")
    for word in CONTRAST_LITERALS
)
_CONTRAST_AFTER = (
    r"(?!" + _GAP + r"(?:" + _CONTRAST + r")" + _GAP + r"(?:收|加|付|补|费|点|\d|%|\bfees?\b|"
    r"\bcharge|\bextra\b|\bpay|\bmore\b|cobr|comision|recargo|\bmas\b|комисси|доплат|плюс|"
    r"сверху|дороже))"
)
# Where no contrast word lies ahead of a cancel's match in its sentence, the look-ahead cannot
# refuse it: the scan then runs the cancel without it (`hits._Part.plain`).
CONTRAST_AFTER = _CONTRAST_AFTER


def until_contrast(regex: str) -> str:
    """Each alternative of a cancel regex, counted only when no contrast follows it."""
    return "|".join(f"(?:{alt}){_CONTRAST_AFTER}" for alt in _alternatives(regex))


def _c(
    code: str,
    topic: str | None,
    act: str,
    cancel: str | None = None,
    *,
    reports: str = "",
    whole_reply: bool = False,
) -> Concept:
    concept = Concept(
        code=code,
        topic=lexicon(topic) if topic else None,
        act=lexicon(act),
        cancel=lexicon(cancel) if cancel else None,
        reports=reports or code,
        whole_reply=whole_reply,
    )
    if concept.act.rest is not None:
        raise ValueError(f"every act of {code} needs a literal start")
    return concept


# Asking politely, in a condition, about the buyer's own choice: never an instruction to the
# buyer, so "if you'd like to cancel you can do it on the order page" is not a refusal.
BUYER_CHOICE = re.compile(
    r"如果您?想|如您需要|您想取消的话|\bif you(?:'d| would)? (?:like|want|prefer|wish)\b|"
    r"\bесли (?:захотите|хотите|вы хотите|пожелаете)\b|\bsi (?:desea|quiere|prefiere|lo desea)\b"
)

_INVOICE_TOPIC = (
    r"发票|发漂|发飘|开票|[带要含]票|票的话|"
    # shorthand and typos: "fp只能开…", "no invioce for this one"
    r"(?<![a-z])fp(?![a-z])|(?<![a-z])(?:invioce|invoce|invocie|invoise)s?(?![a-z])|"
    # chat spellings and the tax-included price: "开piao", "fa票", "含税价每件多15块"
    r"(?:开|发|fa)piao|fa票|含税|"
    r"(?:开|写)到(?:[\d一二两三四五六七八九十]+[千百万块元]|\d{3,})|(?<![车门机彩邮股])票(?:据)?|"
    # Latin words glued to Chinese ("invoice可以开") have no \b between them.
    r"(?<![a-z])invoices?(?![a-z])|(?<![a-z])fapiao(?![a-z])|"
    # the documents as a whole: "we can't do paperwork for those"
    r"\bpaperwork\b|"
    # a receipt, but not "upon receipt of the goods"
    r"(?<!upon )(?<!on )(?<!of )\breceipts?\b|"
    r"品名|品项|品类|开票名称|统编|统一编号|\bнакладн\w*|"
    # "开成劳保用品,好报销": what is reimbursed is the invoice, even unnamed ("报帐" too).
    r"报销|报帐|报账|"
    # chat shorthand for 发票 after a verb: "开fp", "要fp"
    r"(?:开|要|带|含)fp(?![a-z])|"
    r"\bvat receipts?\b|"
    r"(?<!за )(?<!на )(?<!за ваш )(?<!за наш )(?<!за свой )(?<!за мой )(?<!за их )(?<!за чей )\bс"
    r"ч(?:е|ё)т(?:а|е|у|ом|ов)?\b|\bсчет-фактур\w*|"
    r"\bчек(?:а|и|ов|ом|у|е)?\b|\bндс\b|\bдокумент\w*|\bfactura\w*"
)
_INVOICE_ACT = (
    # refusing, also in chat slang ("木有发票", "冇票") and with a typo ("no invioce")
    r"(?:木有|冇)(?:发票|票)|\bno (?:invioce|invoce|invocie|invoise)s?\b|"
    # the amount rounded or said to be close enough: "开个整数500", "实付498也差不多"
    r"开(?:个|成)?整数|凑整|凑个整|实付[^。!?;]{0,8}?(?:差不多|也行|没关系|无所谓)|"
    # one content for every order, or the item left off: "统一写日用品", "不写具体商品名"
    r"统一(?:写|开|填)|不(?:写|填|开)(?:具体|实际)|(?:只能|只)开[^。!?;]{0,8}?部分|那部分|"
    # the amount other than what was paid, said against it: "хотя вы заплатили 4200"
    r"\bхотя (?:вы )?(?:заплатил|оплатил)\w*|\baunque (?:usted )?(?:pag|abon)\w*|"
    # other content named in quotes, or "rather than" the item
    r"\b(?:say|says|read|reads|state|states|show|shows) ['\"“‘]|\brather than\b|"
    # refusing
    r"没办法开|开不了|开不出|出不(?:了|来)|开不出来|没得开|不提供|没有提供|不开发票|没有发票|"
    # "我们这边没有在开发票的", "factura no hay", "vendemos sin papeles"; the amount pushed up:
    # "票面往上凑两百"
    r"没有?在开|\bfactura no hay\b|\bno hay factura\b|\bsin papeles\b|往上凑|"
    # the refusal as what cannot be provided, in either script ("沒辦法提供發票" folds to this):
    # "没办法提供", "无法出具", "不能给您开具", "提供不了"
    r"(?:没办法|没法|无法|不能|不方便)(?:给您|为您|帮您|给你|帮你)?(?:提供|出具|开具)|"
    r"(?:提供|出具|开具)不(?:了|出来)|"
    # "这个月票额用完了不开", "要等下个月": refused now, or put off
    r"不开(?:了|的|哦|啊|呢|哈)?(?=[,。!?;]|$)(?![^。!?;]*(?:可以|能|正常)开)|"
    # "发票这块暂时不支持哈": not supported, said at the end of the clause
    # (a named type refused is not the invoice refused: "这个发票类型我们不支持", "专票暂不支持"
    # — the rule asks for an invoice, not every kind; a small-scale taxpayer cannot issue 专票)
    r"(?<!类型)(?<!种类)(?<!专票)(?<!类型我们)(?<!种类我们)(?<!专票我们)(?<!类型暂时)(?<!专票暂时)"
    r"(?<!类型暂)(?<!专票暂)"
    r"不支持(?:的|哦|啊|呢|哈|了|亲)*(?=[,。!?;~]|$)|不给(?:您|你)?开|"
    # a short "Invoice?" answered with a refusal for the item: "Not for this item"
    r"\bnot for (?:this|these|that|those|the|discounted|sale|clearance|promo)\b|"
    # not the full amount, or at a price other than the one paid: "开不了全款", "按成本价开"
    r"(?:开不了|开不出|不能开|没法开|无法开|不开)全(?:款|额|部)|按(?:成本|进货|进价|出厂|底)价?|"
    r"(?:票额|额度|票)用完|(?:等|到)下个?月|"
    r"\bno invoices?\b|"
    # refused as what the shop does not do or give: "we just can't do paperwork for those",
    # "sale items are invoice-free"
    r"\b(?:can't|cannot|can not|won't|will not|don't|do not|unable to) (?:do|issue|provide|give|"
    r"offer|write) (?:\w+ )?(?:paperwork|invoices?|receipts?|fapiao)\b|"
    r"\binvoice-free\b|\bno paperwork\b|"
    r"\bwithout (?:an? )?invoice|\bdon't do invoices\b|doesn't provide invoices|"
    # the refusal as what the shop does not do: "invoices aren't something we do for sale items"
    r"\b(?:isn't|aren't|is not|are not|not) (?:something|anything|a thing) (?:that )?we "
    r"(?:do|offer|provide|issue|give)\b|"
    r"\bне\s+(?:\w+\s+){0,2}?(?:выставля|выда|да[её]м|даем|дадим|предоставля|оформля|выписыва)\w*|"
    r"\bбез документов\b|"
    r"\bno\s+(?:\w+\s+){0,2}?(?:emitimos|damos|hacemos|ofrecemos|se puede dar|podemos dar|"
    r"se emite|se dan?)\b|"
    # charging extra for it
    r"加(?:点|\d|钱|税|个点|[一二两三四五六七八九十半几]+个?点)|补(?:点|个|\d)?税|"
    # a price that differs with the invoice: "含税价每件多15块"
    r"(?:每件|每个|每单|价格|价)多[\d一二两三四五六七八九十几]+(?:块|元|个点|%)|"
    r"百分之|\bpercent\b|процент\w*|por ciento|"
    r"另外?(?:算|付|加|收)|另算|贵|税费|税钱|税差|"
    # paying more, tax points, an amount added: "得多付3个点", "add 20 yuan". Each asked of
    # the buyer: "您多付的运费我们退", "便宜了3个点" and "add 2 free samples" charge nothing.
    r"(?:要|得|需要?|还要|再)多付|税点?[^。!?;]{0,8}?[0123456789]个点|"
    r"\badd [0123456789][0123456789.,]* ?(?:yuan|rmb|usd|dollars?|euros?|eur|percent)\b|"
    r"%|\bextra\b|\bmore\b|on top|\badd (?:the )?(?:tax|vat)|\b(?:goes|go|will go) up\b|"
    # who pays: the tax "您这边出", "由您承担"
    r"(?:您|你|亲|买家)(?:这边|那边|自己)?(?:要|得|需要?)?(?:自己)?(?:另外|额外)?来?(?:出|承担|"
    r"负担)(?![货发具])|"
    r"(?:您|你|亲|买家)(?:这边|那边|自己)来?(?:付|支付)|由(?:您|你|买家)来?(?:出|付|承担)|"
    # only on some orders: "满500才开", "only available for orders over 500"
    r"满[\d一二两三四五六七八九十百千]+(?:元|块)?(?:以上)?才|"
    r"\bonly (?:available|possible|issued|provided|offered) (?:for|on|with|above|over|if)\b|"
    r"\bno (?:\w+ (?:or|and|nor) )(?:invoices?|fapiao)\b|"
    r"доплат\w*|дороже|\bналог\w*|"
    r"anadir|\bsube\b|\bmas\b|recargo|impuesto|\biva\b|"
    # other amount or part of it, other content
    # "再给您优惠2个点" is a discount on the price, not another invoice amount.
    r"再(?:给|付|加|补)(?!您?(?:优惠|便宜|减|打折|折扣|返))|多给|"
    # the amount written differently: "多写点", "写高", and a price quoted with the invoice
    r"多写|写高|写大|少写|写低|多填|填高|做高|做低|做大|做小|(?:带|含|开)票(?:的)?(?:价|价格)|"
    # an amount other than what was paid: "开到两千，实际付款一千五", "even though you paid 420"
    r"(?:开|写)到(?:[\d一二两三四五六七八九十]+[千百万块元]|\d{3,})|"
    r"\b(?:even though|although|though|while) you (?:only )?paid\b|"
    r"\b(?:pay|cover) the (?:tax|vat)\b|\btax difference\b|每张(?:少|多)|"
    r"\b(?:say|says|read|reads|state|states) [\"'“]?(?:consulting|services?|office supplies|"
    r"stationery|materials|software|consumables)\b|"
    # a sum of its own: "可以给您开800", "只能开500"
    r"开\d{3,}|"
    # ...and in Chinese numerals, capped: "只能开两百", "最多开一千"
    r"(?:只能|只可以|最多|只)开(?:[\d一二两三四五六七八九十]+[千百万]|\d{2,})(?![张份])|"
    # the rest of the amount booked as something else: "剩下的算运费", "其余的开成服务费"
    r"(?:剩下|剩余|其余|余下)的?(?:部分|金额|钱)?(?:算|记|开成|写成|当)|"
    # a receipt instead of the invoice ("可以开收据给您", "只能给收据"), not "收据在包裹里"
    r"(?:只能|只有|只)(?:给您?|开)?收据|(?:可以|给您)(?:开|给)收据|开(?:个|张)收据|收据给您|"
    r"发票(?:就)?算了|"
    # part of what was paid kept off it: "运费那块不进发票", "票面只按商品金额走"
    r"(?:不进|不算进|不计入|不开进)(?:发票|票)|票面只|"
    # the price changes with the invoice: "开票的话价格就不一样了", "含税价是1180"
    r"价格?就?(?:不一样|不同)|含税价(?:是|为)\d|"
    r"[$€¥]\d[\d.,]* (?:fee|charge|surcharge)\b|\b(?:fee|charge) of [$€¥]?\d|"
    r"按\d+给您开|按[\d一二三四五六七八九]+(?:\.\d)?折|开高|开多|多开|少开|一部分|一半|开\d+块|"
    r"higher amount|\bpart of\b|\bhalf\b|"
    r"\blower amount\b|\bdifferent (?:amount|name|description|item)\b|"
    r"instead of|\bas office supplies\b|\bnot the actual\b|\bnot (?:the )?full amount\b|"
    r"\bonly (?:the )?(?:item|goods|product)(?:'s)? (?:price|cost|value)\b|"
    # the item re-labelled: "the invoice will list it as ..."
    r"\b(?:list|lists|listed|show|shows|label|labels|labelled|labeled|mark|marked|describe|"
    r"described) (?:it|them|this|that|the \w+) as\b|"
    r"побольше|\bчасть\b|половин|вместо|канцтовар|друг\w* (?:наименован|назван|сумм)\w*|"
    r"(?:меньш|больш|завышен|заниж)\w* сумм\w*|сумм\w* (?:меньше|больше)|"
    r"mas alto|(?:importe|monto|cantidad|valor) (?:mayor|menor|superior|inferior)|"
    r"(?:mayor|menor) (?:importe|monto|cantidad)|\bparte\b|\bmitad\b|en lugar de|"
    r"material de oficina|"
    r"otro (?:concepto|nombre|importe)|otra descripcion|"
    # the content restricted to something else: "发票上只能写办公用品", "写不了具体型号"
    # ("只能开" alone is left out: "只能开普票" names a type, and amounts are matched above)
    r"(?:只能|只可以|只)(?:写|填|开成|写成|填成)(?!实|按|您?实际|商品|订单)|"
    r"(?:写|填|开)不了(?:具体|实际|真实)?的?(?:型号|品名|名称|商品名|规格)|"
    r"(?:不能|没法|无法|没办法)(?:写|填|开)(?:具体|实际|真实)的?(?:型号|品名|名称|商品名|规格)|"
    # the content re-labelled: "开成办公用品", "写成耗材"
    r"(?:开|写|改|填)(?:成|为)(?!您)"
)
_INVOICE_CANCEL = (
    # the amount paid and nothing more: "con lo que pagaste, ni un céntimo más"
    r"con lo que (?:usted )?(?:pago|pagaste|abono|abonaste)|\bni un (?:centimo|euro|peso) mas\b|"
    r"\bnot a (?:cent|penny) more\b|ни копейки больше|"
    r"不用|无需|不需要|不另|不加|不收|免费|含税价就是|已经含税|按实际|按实付|实付金额|"
    r"不能多开|不能少开|不能改|只能按(?=实|您?实际|付款|支付|订单|您付)|不能按(?!实)|"
    # refusing the re-labelling: "没法改成别的", "类目跟着商品走"
    r"(?:没法|无法|没办法|不可以|不能)(?:帮您|给您)?(?:改|换|开成|写成)|跟着?商品走|随商品|"
    r"只能全额|品名无法|一致|(?:带|含)票价?(?:就是|也是|一样)|价格一样|同价|"
    r"\bno extra\b|nothing extra|\bat no\b|already includes|\bincluded\b|\bexactly\b|"
    r"(?<!not the )(?<!instead of the )(?<!instead of )\bactual\b|"
    r"\b(?:can't|cannot|can not|won't|will not|not allowed to) (?:change|put|list|label|mark|"
    r"write|show|describe)\b|has to match|must match|\bmatch(?:es)? (?:the|what)\b|"
    r"(?<!not the )(?<!not )full amount|"
    r"без доплат|бесплатн|фактическ|реальн|на всю сумму|не можем (?:измен|помен)|"
    r"sin coste|sin cargo|ningun cargo|\bgratis\b|ya incluye|importe pagado|producto real|"
    r"nada extra|no le cuesta|por lo que (?:usted )?pago|"
    r"no podemos cambiar|"
    # "con el total que abonó, tal cual, sin añadir nada": the amount paid, nothing added
    r"\bsin (?:anadir|sumar|agregar|cobrar) nada\b|(?:total|importe|"
    r"monto) que (?:usted )?(?:pago|abono)\b|"
    r"\btal cual\b|"
    # the agent saying what the invoice cannot carry: "no puede llevar otro concepto"
    r"no (?:puede|pueden|podemos|se puede) (?:llevar|poner|cambiar|modificar|tener|salir|ir)"
)

# A sum with its currency or a percentage, as "plus" takes it: "plus $5", "un plus de 5 pavos"
# ("plus 2 free samples" adds nothing to pay).
_SUM = (
    r"(?:[$€¥₽] ?\d|\d+(?:[.,]\d+)? ?"
    r"(?:%|€|\$|euros?|usd|dollars?|bucks|pavos|yuan|rmb|kuai|руб|₽))"
)

_CARD_TOPIC = (
    r"信用卡|信用咔|花呗|分期|刷卡|白条|借记卡|\bcredit cards?\b|"
    # the number of instalments inside the word: "分12期", "分三期"; paying in parts
    r"分[0123456789一二三六九十]{1,3}期|\bчастями\b|"
    # the card named by how it is used: "用卡付款", "卡付", "using ur card"
    r"(?:用卡|拿卡|卡付|卡支付)|"
    # spelled out: an optional word would leave "by "/"with " as the automaton key
    + "|".join(
        rf"\b{verb} {det}card\b"
        for verb in ("using", "use", "with", "by", "pay with", "paying with")
        for det in ("", "a ", "your ", "ur ", "the ")
    )
    + r"|"
    r"\bcard (?:payments?|price)\b|\bcards? (?:adds?|costs?|comes to)\b|"
    r"\bpay(?:ing)? (?:with|by|on) credit\b|"
    # the card priced with a sign: "card = +3%", "card: +5"
    r"\bcards? ?(?:=|\+|:|->) ?\+?[$€¥]?\d|"
    r"\bw/ ?card\b|\bw/ ?(?:a|your|ur) card\b|"
    r"\bby card\b|\binstal?l?ments?\b|\bhuabei\b|\bcc\b|xyk|信用k|\bcuotas\b|meses sin intereses|"
    r"(?<!на )карт(?:ой|ы|а|у)\b|кредитк\w*|рассрочк\w*|"
    r"\btarjeta\b|\ba plazos\b|" + pt.CARD_SCHEMES
)
_CARD_ACT = (
    # a sum added in Chinese numerals, or the price raised: "原价上加十块", "单价涨5块"
    r"加[一二两三四五六七八九十百几]+(?:块|元)|(?:原价|价格?)上(?:再)?加|"
    r"涨(?:\d|[一二两三四五六七八九十几]+)|"
    # another price than the cash one: "1050 вместо 1000", "130 en vez de 120"
    r"вместо \d|en (?:vez|lugar) de \d|дополнительн\w*|\badicional\w*|"
    r"加(?:\d|点|钱|收|价)|加[一二两三四五六七八九十半]+个?点|贵|"
    # another way of paying has its own, lower price: "支付宝余额付是258", "balance it's $49"
    r"(?:余额|现金|支付宝|储蓄卡)(?:付款?|支付)?(?:的话)?(?:价格?(?:是|为|就是)?|是|为|就是)\d|"
    r"\b(?:balance|cash|debit|wallet|transfer)\b[^.!?;]{0,20}?(?:it's|it is|is|costs?|only|just) ?"
    r"(?:[$€¥]\d|\d+(?:\.\d+)? ?(?:usd|dollars?|euros?|yuan|rmb|rub))|"
    r"\badd(?:s|ed|ing)? [$€¥]?\d|\binstead of [$€¥]?\d|"
    r"高一?点|手续费|通道费|费率|"
    # a price of its own for the card, or paying another way is cheaper: "刷卡价和现金价不一样",
    # "刷卡价比较高，汇款的话便宜一点", a difference to order: "补拍一个5元的差价链接"
    # (the card's price, not its limit: "额度比较高"; another way cheaper, not a card discount)
    r"价(?:格)?(?:不一样|不同)|价(?:格)?(?:会)?(?:比较|更|偏)高|(?:比较|更|偏)贵|"
    r"价(?:格|钱)?(?:要|会|就|得)(?:稍|略)?(?:高|贵)|往上(?:调|加|涨|提)|上调|涨价|"
    r"(?:汇款|转账|现金|余额|支付宝|储蓄卡|借记卡)[^。!?;,]{0,6}?便宜|差价|补拍|"
    # passed on to the buyer: "这部分我们转给买家负担"
    r"(?:转给|转嫁给?|算到|算在)(?:您|你|亲|买家)|(?:您|你|买家)(?:来|自己)?负担|"
    r"\bprocessing (?:charge|fee)|\bhandling (?:charge|fee)|\btransaction (?:charge|fee)|"
    r"改(?:个|下)?价|另外|%|百分之|\bpercent\b|процент\w*|por ciento|多付|多收|多交|多给|"
    # who pays: "费用得您这边出", "the fee is on you", "комиссию оплачиваете вы"
    r"(?:您|你|亲|买家)(?:这边|那边|自己)?来?(?:出|承担|负担)(?![货发具示现])|由(?:您|你|"
    r"买家)来?(?:出|付|承担)|"
    r"自付|"
    # the buyer making up a sum: "需要您补一下分期的钱", "您再补个差"
    r"(?:您|你|亲|买家)(?:这边|那边|自己)?(?:要|得|需要?)?(?:再|另外)?来?补(?!发|寄|货)|"
    r"扣(?:[\d一二两三四五六七八九十]+)个?点|"
    # the price raised for the card: "用花呗的话价格得提一点"
    r"价(?:格|钱)?(?:要|会|就|得)?(?:稍微?|略)?(?:提|调高)(?:一点|一些|点|高)?|"
    r"\bon you\b|\byou (?:pay|cover) (?:it|that|them|the (?:fee|charge|commission|difference))\b|"
    r"at your (?:own )?expense|оплачиваете вы|"
    r"за ваш сч|por su cuenta|lo paga usted|"
    r"利息|做不了|"
    # the discount kept for another way of paying: "优惠价只限余额支付"
    r"优惠价?只(?:限|有|针对|适用)|"
    # a sum charged of the buyer: "我们要收您50服务费", "收你五十"
    r"收(?:您|你|亲)(?:[\d一二两三四五六七八九十百几]+|一?点)|服务费|"
    # a sum on top, in any language: "плюс триста рублей сверху", "plus $5", "un plus de 5"
    r"\bплюс\b[^.!?;]{0,20}?(?:руб|₽|%)|сверху|\bplus (?:de )?" + _SUM + r"|\bde mas\b|"
    r"\bsurcharge\b|\bfees?\b|\bextra\b|\bmore\b|\bhigher\b|adjust the price|service charge|"
    r"\b(?:goes|go|will go|going) up\b|"
    r"комисси\w*|доплат\w*|\bвыше\b|дороже|"
    r"recargo|comision|\bsube\b|mas caro|\bmas\b"
)
# Two prices for the card and for another way of paying, in one sentence or two: "card price
# is 105, cash 100", "刷卡的话是105。不刷卡100就行。". The second price must differ from the first
# (a back-reference), so "card 100, cash 100 too" states one price.
_CARD_WAYS = (
    r"刷卡",
    r"信用卡",
    r"花呗",
    r"用卡",
    r"卡付",
    r"分期",
    r"\bcard\b",
    r"\bcredit\b",
    r"картой",
    r"\bкарт(?:а|у)\b",
    r"\btarjeta\b",
    r"\ba plazos\b",
)
_OTHER_WAYS = (
    r"不刷卡|现金|付现|余额|支付宝|转账|转帐|储蓄卡|借记卡|\bcash\b|\bbalance\b|\bdebit\b|"
    r"наличн\w*|\befectivo\b|\bsaldo\b"
)
# A price: a number not followed by a percent sign or more digits (a rate is another reader's).
# Not a count of instalments, days, hours or pieces: "分期3期，现金一次付清1000" names one price.
_NOT_PRICE = (
    r"(?!\s*(?:期|个?月|天|日|号|小时|点|次|件|个|码|x\b|months?\b|hours?\b|days?\b|pcs\b|"
    r"meses\b|dias\b|horas\b|мес|дн|час|шт))"
)
_PRICE = r"(\d+(?:\.\d+)?)(?![\d%.])" + _NOT_PRICE
_SECOND_PRICE = r"(?!\1(?![\d.]))\d+(?:\.\d+)?(?![\d%])" + _NOT_PRICE
_CARD_PRICE_ACT = "|".join(
    [
        way
        + r"[^\d\n]{0,14}?"
        + _PRICE
        + r"[^\d\n]{0,30}?(?:"
        + _OTHER_WAYS
        + r")[^\d\n]{0,20}?"
        + _SECOND_PRICE
        for way in _CARD_WAYS
    ]
    + [
        r"(?:"
        + _OTHER_WAYS
        + r")[^\d\n]{0,14}?"
        + _PRICE
        + r"[^\d\n]{0,30}?(?:"
        + "|".join(_CARD_WAYS)
        + r")[^\d\n]{0,20}?"
        + _SECOND_PRICE
    ]
)
_CARD_CANCEL = (
    # the two prices said to be the same: "刷卡价1200，现金价1200，一样的" (not "不一样")
    r"(?<!不)(?<!不太)一样(?:的|哦|哈|啊|呢|滴)?(?=[,。!?;~]|$)|"
    # "sin coste adicional", "sin comisión": no cost named with "sin"
    r"\bsin (?:ningun |ninguna )?(?:coste|costo|cargo|comision|recargo|pago)\w*|"
    r"不收|免息|免手续|零利率|0利率|不另收|不额外|我们承担|(?:我们|店铺|商家)吸收|"
    # who pays: the shop, named as "我们店"/"店里"/"本店": "分期的利息我们店来出"
    r"(?:我们店|店里|本店)来?(?:承担|出|付|负担)|"
    # the fee is the shop's business: "跟您没关系"
    r"(?:跟|和|与)(?:您|你|亲)(?:没|无)关|由我们|不加|"
    r"(?<!储蓄卡就)(?<!借记卡就)(?<!余额就)(?<!现金就)(?<!支付宝就)不用|价格不变|价格一样|"
    r"和页面一致|不会因为|无额外|没有额外|"
    r"\bno extra\b|\bno (?:\w+ )?(?:fees?|surcharge)\b|\bat no\b|"
    r"\bwe (?:cover|pay)\b|\bnever add\b|"
    r"stays the same|same price|pre-?authori|价格都一样|"
    r"без (?:\w+ )?(?:комисси|доплат|наценк|переплат)|не меняется|та же|"
    r"sin (?:ningun )?recargo|\bel mismo\b|mismo precio|"
    # the buyer's bank charges it and the shop adds nothing: "комиссию берет ваш банк"
    r"ваш банк|\byour bank\b|\bsu banco\b|\btu banco\b|您的?(?:发卡)?银行收|"
    r"ничего не (?:добавл|доплач|берем)\w*|\bникаких (?:\w+ )?(?:процент|комисси|доплат|наценк|"
    r"переплат)\w*|\bне берем\b|we (?:don't|do not) add|no (?:anadimos|cobramos)"
)

_POSTAGE_TOPIC = (
    # the courier with a sum is its charge: "青海这边快递要多出12块"
    r"快递(?:要|得|会|就)?(?:多|另|再)?[^。!?;,]{0,4}?(?:\d+|[一二两三四五六七八九十几]+)(?:块|元)|"
    r"邮费|运费|快递费|邮资|包邮|快递钱|邮钱|运费钱|超区|(?<!退)货运(?!费)|"
    # carrying it named by the verb: "до Якутска везём только за доплату"
    r"\bвез[её]м\b|\bдовез\w*|\bдовоз\w*|\bshipping\b|\bpostage\b|\bfreight\b|\bdelivery\b|"
    # carriage named by its means, and islands or remote regions with a sum: "多一百块船运",
    # "por el barco", "澎湖金门要多一百"
    r"船运|海运|空运|过海|渡海|船费|\bbarco\b|\bferry\b|\bboat\b|паром\w*|"
    r"(?:澎湖|金门|马祖|外岛|离岛|海岛|绿岛|兰屿|新疆|西藏|青海|内蒙|宁夏|甘肃|海南|偏远|边远|"
    r"乌鲁木齐|拉萨|西宁|银川|兰州|呼和浩特|海口)"
    r"[^。!?;]{0,10}?(?:\d+|[一二两三四五六七八九十百几]+)(?:块|元)|"
    # ...or with its courier: "乌鲁木齐那边快递收得贵，麻烦补个15"
    r"(?:新疆|西藏|青海|内蒙|宁夏|甘肃|海南|偏远|边远|乌鲁木齐|拉萨|西宁|银川|兰州|呼和浩特|海口)"
    r"(?:那边|那里|这边|地区)?(?:的)?快递|"
    r"доставк\w*|пересылк\w*|\bпочт\w*|отправк\w*|\benvio\b|\bportes?\b|\btransporte\b"
)
_POSTAGE_ACT = (
    # the buyer making up part of it: "邮资这块您得贴一点"; charged apart: "cuesta 9 euros aparte";
    # a sum with its currency after a plus: "в ваш город +250 ₽"
    r"贴(?:一点|点|一些|些|补|钱)|\baparte\b|"
    r"\+ ?\d+ ?(?:₽|руб|€|\$|euros?|yuan|元|块|运费|邮费)|за доплату|"
    # paid by the buyer in the passive sense, a promise that leaves a place out:
    # "運費請自付", "包邮不含外岛"
    r"自付|自负|包邮不(?:含|包括|包含)|"
    r"补|加(?:\d|收|钱|[一二两三四五六七八九十几]+(?:块|元|毛))|另付|另收|自理|您来?出|差价|支付|"
    r"拍下|" + pt.WHO_PAYS_ZH + "|"
    # a sum on top, or a promise that does not reach the buyer: "for yours it's +$10",
    # "free shipping doesn't apply there", "is only for the main cities"
    r"\+ ?[$€¥]\d|(?:doesn't|does not|won't|will not|isn't|is not) (?:apply|applicable|valid)\b|"
    r"\bfree shipping (?:is )?only (?:for|to|in|within)\b|"
    r"\bpay (?:the )?[$€¥]\d[\d.,]* difference\b|"
    r"\bpague(?:n|lo|la|los|las)?\b|\babone(?:n|lo|la|los|las)?\b|\bdiferencia\b|"
    # a sum more: "son 6€ mas de envio", "cuesta 7 euros adicionales", "多出12块"
    r"(?:€|\$|¥|euros?|yuan(?:es)?|rmb|usd|dolares|pesos) ?(?:mas|adicional\w*)\b|"
    r"\bmas de (?:envio|portes?|transporte)\b|\badicional(?:es)?\b|\badditional\b|"
    r"(?:多(?:出|收|付|给|加)|(?:要|得|需要?|再|还要)多)[\d一二两三四五六七八九十百几]+(?:块|元)|"
    # a sum on top in slang or as "plus": "un plus de 5 pavos", "плюс 300", "+5 bucks"
    r"\bplus (?:de )?" + _SUM + r"|\bun plus de\b|\bплюс\b[^.!?;]{0,20}?(?:руб|₽)|сверху|"
    r"\bpavos\b|\bpelas\b|\bbucks\b|\bkuai\b|"
    # an amount more: "send 10 yuan more for the delivery fee"
    r"(?:yuan|rmb|usd|dollars?|euros?|bucks|kuai) more\b|"
    r"\bmore for (?:the )?(?:shipping|postage|delivery|freight)\b|"
    r"\bpay\b|\btop up\b|\btop-ups?\b|\badd\b|\bextra\b|surcharge|\bcover\b|isn't covered|"
    r"not covered|另计|"
    # a charge with its sum: "a small delivery charge of 10 yuan"
    r"\b(?:charge|fee|cost) of [$€¥]?\d|"
    # an amount more, or a difference to make up: "another $6", "the postage difference"
    r"\banother (?:[$€¥]\d|\d+ ?(?:usd|dollars?|euros?|yuan|rmb|bucks))|\bseparate order\b|"
    r"(?:postage|shipping|delivery|freight|price) difference|\bpay the difference\b|"
    r"not included|doesn't include|(?:isn't|is not|not|aren't|are not) free\b|"
    r"\bcosts?\b[^.!?;]{0,30}?\bmore\b|\b(?:paid|pay|charged|billed) separately\b|"
    r"доплат\w*|платн\w*|оплачива\w*|"
    r"\bpagar(?:lo|la|los|las)?\b|\babonar(?:lo|la|los|las)?\b|suplemento|"
    r"(?:pag|abon|cobr)\w*(?: \w+){0,3}? (?:aparte|por separado)|no (?:es|son) gratis|"
    r"no (?:es|son) gratuit\w*|"
    r"\bcuesta\b[^.!?;]{0,30}?\bmas\b|"
    r"recargo|\bextra\b|no (?:esta )?incluid|no (?:incluye|cubre)|"
    r"\b(?:lo|la|los|las) (?:paga|abona|cubre) usted\b|\ba su cargo\b|\bpor su cuenta\b|"
    r"не входит|не включ"
)
_POSTAGE_CANCEL = (
    r"不用|无需|不需要|也包|都包|我们承担|由我们|不必|"
    r"no need|don't need|(?<!n't )(?<!not )\bincluded\b|\bwe pay\b|nothing extra|"
    r"we(?:'ve| have)? covered|"
    r"\bwe(?:'ll| will)? (?:cover|pay for|absorb)\b|nothing (?:more|else|further) to pay|"
    r"\bon us\b|free of charge|\b(?:is|are) (?:also )?free\b|\bfree (?:as well|too)\b|"
    r"\b(?:paid|covered|borne) by us\b|nothing to (?:top up|pay|add)\b|"
    r"\bno (?:extra|additional) (?:charges?|costs?|fees?|postage|shipping)\b|"
    # "не бесплатная", "el envío gratis no incluye..." negate or carve out the promise.
    # "Бесплатная доставка не на ваш город" carves the region out of the promise.
    r"не нужн\w*|(?<!не )бесплатн[а-я]*(?![а-я])(?!\s+(?:доставка\s+)?(?:не|только|лишь)\b)|"
    r"\bno (?:extra |additional )?(?:shipping|postage|delivery|freight) "
    r"(?:difference|charges?|fees?|costs?)\b|"
    r"free shipping everywhere|no hay que pagar|no hay (?:ninguna )?diferencia|"
    r"no tiene que pagar|\bsin (?:ningun )?(?:recargo|coste|costo|cargo)|(?<!no es )gratuit|"
    r"\bningun (?:recargo|coste|costo|cargo)\b|"
    r"(?<!no es )(?<!no son )\bgratis\b(?! no\b)(?! (?:solo|solamente)\b)|no hace falta|"
    # the buyer pays nothing: "you won't pay anything extra", "sin pagar portes"
    r"\b(?:won't|will not|don't|do not|never|wont|dont) (?:have to |need to )?(?:pay|be charged)\b|"
    r"\bsin (?:pagar|abonar)\b|не (?:нужно |надо )?(?:доплачивать|платить)|"
    r"\b(?:applies|ships free|goes free) (?:to|for) [^.!?;]{0,20}?\b(?:too|as well|also)\b"
)
# Where a listing sets postage per region itself, pointing at it is allowed.
LISTING_POSTAGE = re.compile(
    r"页面|商品页|详情页|listing|product page|\bpage\b|страниц\w*|\bpagina\b"
)

_REFUSAL_ACT = (
    r"一周后才能发|下周才能发|天后才能发|交易关了|关了交易|"
    # a time past the promise, and only then: "起码得下周才轮到您", "要等十天后才会寄出"
    r"(?:下周|下个?礼拜|下个?星期|下个?月|月底|(?:4|5|6|7|8|9|1\d|2\d|3\d|四|五|六|七|八|九|"
    r"十[一二三四五六七八九]?)"
    r"(?:天|日)(?:以|之)?后|(?:1|2|3|4|一|两|二|三|四|几|半)个?(?:星期|礼拜|周)(?:以|之)?后)"
    r"[^。!?;,]{0,4}?才(?:能|可以|会|有)?(?:发|寄|出|轮到|安排)|"
    r"\b(?:at least|no sooner than|not for (?:another )?|not until|only in|only after|earliest in)"
    r" ?(?:[4-9]|[1-9]\d|four|five|six|seven|eight|nine|ten) (?:business |working )?days? "
    r"(?:before|until|till)\b|"
    r"\b(?:at least|no sooner than|not for (?:another )?|not until|only in|only after|earliest in)"
    r" ?(?:a|one|two|three|\d+|a couple of|a few) weeks? (?:before|until|till)\b|"
    # saying it will not be shipped: "we're not going to ship at that price", "I'm cancelling
    # it for you"
    r"\b(?:we're|we are|i'm|i am) not going to (?:ship|send|dispatch)\b|"
    r"\b(?:i'm|im|i am|we're|we are) cancel+ing (?:it|this|the order|your order)\b|"
    # queued past the promise: "这单得排到下周"; cancel if you cannot wait: "等不了就退了吧"
    r"排到(?:下周|下个?月|月底|\d+号)|等不了(?:的话)?(?:就|您就)?(?:退|取消|申请退)|"
    # Spanish "no sale" said alone, and cancelling asked as "anúlelo"
    r"(?<!si )\bno sale\b(?=[,.!;]| y\b| de aqui\b)|"
    r"\bno (?:lo|la|los|las) (?:despachamos|enviamos|mandamos)\b(?![^.!?;]{0,15}?\bhasta\b)|"
    r"\banul(?:elo|ela|en|e)\b|\bcancel it yourself\b|"
    r"\bcancel (?:it )?on your end\b|"
    r"not sending|won't go out|not going out|won't be shipping|not shipping|cancel and reorder|"
    r"\bне (?:будем|можем|сможем) отправ\w*|\bотправить не (?:можем|сможем|получится)|"
    r"\bне отправим\b|"
    r"не получится|\bотмените\b|\bзакройте\b|оформите (?:возврат|отмену)|"
    r"no (?:vamos a|podemos) (?:enviar|despachar|mandar)\w*|no (?:lo|la) (?:vamos a|podemos) "
    r"(?:enviar|despachar|mandar)\w*|\bcancel\w*lo\b|\bcancele\b|cierre el pedido|"
    r"(?:solicite|pida) (?:el reembolso|la cancelacion)|"
    # not shipping before a date: "no sale hasta…", spelled out so that no key is just "no "
    r"\bno sale\b[^.!?;]{0,15}?\bhasta\b|\bno saldra\b[^.!?;]{0,15}?\bhasta\b|"
    r"\bno se envia\w*[^.!?;]{0,15}?\bhasta\b|\bno enviamos\b[^.!?;]{0,15}?\bhasta\b|"
    r"\bno lo enviamos\b[^.!?;]{0,15}?\bhasta\b"
)
# Not within the promised time: "отправить сможем только через две недели". The delay is the
# act (keyed on "через"), the sending its topic, so a reply that only says "отправим" tries
# nothing.
_DELAY_TOPIC = (
    r"отправ\w*|отгруз\w*|\bsale\b|\bsaldra\b|\benvi\w*|\bmand\w*|"
    r"出货|发货|寄出|发出|\bship\w*|\bsend\b|\bdispatch\w*|\bleaves?\b|\bgoes out\b|\bgo out\b"
)
_DELAY_ACT = (
    # a week or a month named without a number: "it'll be a week before it goes out",
    # "para mediados del mes que viene"
    # (spelled out: an optional word would leave "a " as the automaton key, in most English)
    r"\ba week\b|\ba whole week\b|\ba full week\b|\buna semana\b|\bmes que viene\b|"
    r"\bproximo mes\b|"
    r"через (?:\d+|две|три|четыре|пять|несколько|пару) (?:недел\w*|месяц\w*)|"
    r"\bhasta dentro de\b|dentro de (?:\d+|dos|tres|quince|varias) semanas|"
    r"(?:только|лишь|не раньше(?: чем)?) через (?:\d+ |две |три |четыре |пять |несколько |пару )?"
    r"(?:недел\w*|месяц\w*)|"
    # days past the three-day promise, weeks, a fortnight or a month, in every language
    r"через (?:[456789]|1[0123456789]|четыре|пять|шесть|семь|восемь|девять|десять) "
    r"(?:дн\w*|сут\w*)|"
    r"(?:等到|要到|得到|排到)(?:下周|下个?月|月底|月中)|半个月|"
    r"\bfortnight\b|\b(?:two|three|four|five|six|a couple of|a few|several) weeks\b|"
    r"\b(?:2|3|4|5|6) weeks\b|\ba month\b|"
    r"\bdentro de (?:un|1) mes\b|\bdentro de (?:[456789]|1[0123456789]|cuatro|cinco|seis|siete|"
    r"ocho|nueve|diez|quince) dias\b"
)
# A time already past or a transit time is not a delay in sending: "shipped two weeks ago",
# "arrives in about two weeks".
_DELAY_CANCEL = (
    r"\bago\b|\barriv\w*|\bdeliver\w*|\bhace (?:un|una|dos|tres)\b|назад|в пути|доставк\w*|"
    r"\bllega\w*|已经?(?:发|寄)|到货|送达|收到|在路上|签收"
)

# The buyer told to cancel or to take the refund themselves (R-26 with stock, R-28 without):
# judged only when the stock is known, like the stock excuse it reports as.
_CANCEL_ASK = (
    # the buyer told to do it themselves: "您自己点个退款", "您这单先取消吧", "您去别家拍吧"
    # (spelled out, so that no key is a bare "您")
    r"(?:自己|您|你|亲)(?:点|按|走)(?:个|一下|下)?(?:退款|取消)|"
    r"(?:这边|那边)(?:点|按|走|申请|申|提)(?:个|一下|下)?(?:退款|取消)|"
    # "点取消吧", "这单您先退了，过阵子再拍", "退了去别的店买吧", "这单 cancel 掉了"
    r"(?:点|按)(?:一下|下)?取消(?:吧|哈|哦|啊|呀)|这单[^。!?;,]{0,4}?先(?:取消|撤|退)(?:了|掉)|"
    r"(?:去|到)别(?:的店|的店铺|家店)|cancel\s*掉|"
    r"这单[^。!?;,]{0,4}?(?:先|就)?(?:取消|撤|关|退)(?:了|掉)?(?:吧|哈|哦|啊)|"
    r"(?:去|到)别家(?:拍|买|下单|看看)|"
    r"(?:te toca|tienes que|tiene que|debes|debe|dele(?: usted)? a|dale a) (?:anular|cancelar)|"
    r"\banular(?:lo|la)\b|\banula (?:tu )?(?:la compra|el pedido)\b|"
    r"撤(?:了|掉|销)?(?:吧|哈|哦)|撤单|撤掉|订单[^。!?;,]{0,6}?(?:撤|关)(?:了|掉)|"
    r"单子[^。!?;,]{0,4}?(?:撤|关)(?:了|掉)|退(?:了|掉)吧|退款吧|"
    r"(?:点|按)(?:一下|下)?退款|走(?:一下|下)?退款|"
    r"\b(?:hit|tap|press|click) (?:the )?(?:cancel|refund)\b|\bclose (?:the|your|this) order\b|"
    r"\bgo ahead and (?:cancel|request a refund)\b|\b(?:you'll|you will) (?:need|have) to cancel\b|"
    r"\bотмените\b|придется (?:вам )?отменить|\bнажмите\b[^.!?;]{0,12}?(?:вернуть|отмен|возврат)|"
    r"\bоформляйте (?:возврат|отмену)|"
    r"\bpida (?:la devolucion|el reembolso|que le devuelvan)|\banule\b|\bcancele\b|"
    r"\bsolicite (?:el reembolso|la devolucion|la cancelacion)"
)
_CANCEL_ASK_CANCEL = (
    # "别" as "don't", not "别家" (another shop): "您去别家拍吧" still sends the buyer away
    r"不用|无需|不需要|不必|没必要|别(?![家处人的等])|不要|如果|要是|假如|同意|\bno need\b|"
    r"\bdon't\b|\bif\b|"
    r"не нужно|не надо|\bесли\b|no hace falta|no es necesario|"
    r"\bsi (?:desea|quiere|quieres|prefiere|prefieres|lo desea)\b"
)

# An order and what is not done to it: "这单我们不接了", "we won't process this one".
_ORDER_TOPIC = r"订单|这单|那单|这笔|单子|\borders?\b|this one|заказ\w*|pedido"
_ORDER_REFUSAL = (
    r"不接了|不做了|不出了|不发了|没法做|做不了|发不出去|没法发|不想(?:发|做|接)|不打算(?:发|做)|"
    r"not going to (?:fulfil|fulfill|process|ship|send)|"
    r"won't (?:be )?(?:fulfil|fulfill|process|ship|send)|"
    r"не будем|не станем|"
    r"no (?:lo |la )?(?:vamos a|podemos) (?:preparar|procesar|enviar|despachar)"
)

_STOCK_EXCUSE = (
    # none left, said as a count or as the sizes gone: "一件都不剩了", "断码了", "на складе пусто"
    r"都不剩|一件不剩|不剩了|断码|на складе пусто|пусто на складе|"
    r"закончил\w*|нет в наличии|\bagotad[oa]\b|\bse agoto\b|\bse nos agoto\b|"
    r"卖光|卖没了|没得货|\bnothing left\b|\bnone left\b|больше нет|не осталось|распродан\w*|"
    r"\bcero unidades\b|"
    # spelled out, not "(?:nos )?": an optional word would leave "no "/"se " as the
    # automaton key, which most Spanish replies contain
    r"\bno qued(?:a|an)\b|\bno nos qued(?:a|an)\b|\bsin (?:stock|existencias)\b|"
    r"\bse acab(?:o|aron)\b|\bse nos acab(?:o|aron)\b|"
    r"\bya no (?:tenemos|hay|queda|quedan)\b|\bsold the last\b|"
    r"\blast one (?:is|was|has been) sold\b|"
    r"库存清零|清空了库存|卖断|卖空|售空|"
    # Russian and Spanish without "нет в наличии"/"agotado": "Разобрали всё", "Остатков ноль",
    # "Nos quedamos sin unidades"
    r"разобрали|раскупили|\bостатк\w* (?:ноль|нет|0)\b|\bноль остатк\w*|"
    r"\bнет на складе\b|\bquedamos sin\b|\bsin unidades\b|\bfuera de stock\b|"
    r"\bno (?:hay|tenemos|quedan) (?:unidades|existencias|stock)\b|"
    r"\b(?:all|fresh|clean) out of\b|"
    r"\bwe(?:'re| are) (?:all |completely )?out of (?:stock|these|this|those|that|it|them)\b|"
    r"\bgone for good\b|"
    # discontinued by the maker, the shelf emptied, none of a size left
    r"停产|不再生产|清空了|\bdiscontinued\b|\bno longer (?:made|produced|available)\b|"
    r"сняли? с производства|снят\w* с производства|descatalogad\w*|ya no se fabrica|"
    r"\bno more (?:size|sizes|stock|units|pieces|left)\b"
)
# Offering a way out (another colour, a restock date) is what R-28 asks for.
ALTERNATIVE_OFFERED = re.compile(
    # a swap or a restock offered as a question: "поменять?", "¿te lo cambio?", "月底會補進來"
    r"поменять|\bесть (?:на|в) |\b(?:te|se) lo cambio\b|(?<!no )\besta disponible\b|"
    r"补进来|补回来|补上来|改别款|换别款|换款|想等还是|(?:帮|给|为)您换|"
    r"还有[\d一二三四五六七八九十]+码|"
    r"可以换|换成|或者?等|要不要换|换一下|换个|(?:同款|其他|别的)[^。!?;]{0,6}有(?:现)?货|"
    r"(?<!不)(?<!没)到货|补货|"
    # a date it comes back: "后天到", "到了立刻给您发"
    r"(?:明天|后天|下周|周[一二三四五六日]|\d+号|月底|月初)(?:就|会)?到|到了(?:立刻|马上|就|"
    r"第一时间)|"
    r"se lo cambiamos|(?<!no )\btenemos (?:en|el|la|otro|otra)\b|"
    r"\bllega(?:ra)? (?:el|la|manana|en)\b|\bswap\b|\breplace (?:it|with)\b|\bexchange\b|"
    r"\b(?:new|next|fresh) (?:batch|shipment|stock)\b|"
    r"\bwe can send\b|\bor (?:wait|ship when)\b|(?<!no )\brestock|"
    r"\b(?:is|are) (?:still )?(?:available|in stock)\b|\b(?:want|like) to (?:switch|change)\b|"
    r"можем отправить|дождаться|заменить|когда поступит|podemos enviarle|esperar a la reposicion|"
    r"podemos cambiar\w*|cambiarlo|enviarlo cuando|cuando (?:llegue|vuelva|se reponga)|otro color|"
    r"another colou?r|\bswitch (?:you|it)\b|back in stock|next (?:shipment|batch)|"
    r"\bwhen (?:it's|it is|they're|they are|it comes|they come) back\b|"
    r"\bback (?:next|on|by|tomorrow)\b|\b(?:would you like|do you want|how about) the \w+ one\b|"
    r"поставк\w*|поступлени\w*|как только (?:поступит|появится|придет)|"
    r"repondr\w*|reponemos|reposicion|en cuanto (?:llegue|tengamos|vuelva)|"
    r"\bhold (?:one|it|a \w+) (?:for|from)\b|next week's|\bпоступ(?:ит|ят)\b|\bпоявится\b"
)

# A chat app's name followed by a handle: "LINE ID: abc", "TG：@deals", "Instagram @shop".
_CHANNELS = (
    r"(?<![a-z])(?:line|tg|telegram|instagram|insta|ig|facebook|fb|messenger|kakao(?:talk)?|"
    r"whatsapp|viber|skype|snapchat|wechat|weixin|vx|wx|qq|телег\w*|телеграм\w*|тг(?![а-я])|"
    r"инстаграм\w*|вайбер\w*|вотсап\w*|ватсап\w*|вацап\w*|вконтакте|"
    # WeChat and its homophones and work edition; Facebook as Taiwan writes it
    r"(?:[微威薇徽维卫]|v)[信心芯]|卫星|企微|企业微信|脸书|粉专|粉丝专页)"
)
_HANDLE = r"(?:\s*(?:id|号))?\s*(?::\s*@?|@)[a-z0-9][a-z0-9_.\-]{2,}"

_OFF_ACT = (
    _CHANNELS
    + _HANDLE
    + r"|"
    + _CHANNELS
    + r"[^.!?。\n]{0,12}?@[a-z0-9_.]{3,}|"
    # a handle a few words after the channel: "LINE搜尋 tw_bestbuy", "V我一下：kefu888"
    + _CHANNELS
    + r"[^.!?。\n]{0,4}?(?:搜索?|搜寻|search|加)\s*@?[a-z][a-z0-9_.\-]{3,}|"
    r"(?<![a-z])v我(?:一下|下)?\s*:?\s*[a-z0-9][a-z0-9_.\-]{2,}|"
    # an account number given to pay into: "郵局帳號 700-1234567"
    r"(?:帐号|账号|户头|帐户|账户|卡号)\s*:?\s*\d[\d\- ]{5,}|"
    # the platform's cut as the reason, or the platform not needed: "省平台费",
    # "蝦皮那邊就不用下單了", "skip the marketplace cut", "маркетплейс не нужен"
    r"(?:省平台|省掉平台|省下平台)(?:的)?(?:费|抽成|手续费|佣金)|别在(?:这|这里|这边|平台)(?:上)?拍|"
    r"(?:虾皮|淘宝|天猫|拼多多|京东|平台)(?:那边|这边|上)?就?不用(?:再)?(?:下单|拍|付)|"
    r"\bskip (?:the )?(?:marketplace|platform|app)\b|"
    r"\b(?:marketplace|platform|app)(?:'s)? (?:cut|commission)\b|"
    r"\bas a gift\b[^.!?;]{0,20}?\bpaypal\b|\bpaypal\b[^.!?;]{0,20}?\bas a gift\b|"
    r"\bon our (?:instagram|insta|ig|facebook|fb|tiktok|page)\b|\bdm (?:there|us)\b|"
    r"(?:скиньте|киньте|перекиньте|переведите)[^.!?;]{0,25}?(?:по номеру|сбер\w*|тинькофф\w*|"
    r"т-банк\w*)|маркетплейс не нуж\w*|площадка не нуж\w*|"
    r"(?:威信|薇信)搜|(?<![不别没])加(?:我|我们|个|一下|下)?的?" + _CHANNELS + r"|"
    r"(?:私讯|私信|私聊|私我|密我)(?:我|我们)?的?" + _CHANNELS + r"|"
    # a private link or price outside the listing: "我发你个内部链接", "私发链接"
    r"内部链接|私发链接|私人链接|"
    # the talk moved off the chat: "这里不方便", "我打给您细说"
    r"这里(?:说话)?不方便|我打给您|打(?:电话)?给您细说|私下(?:聊|说|联系)|"
    # buying from the agent instead of the listing: "下次直接找我拿货"
    r"直接(?:找|跟|联系)我(?:拿货|买|下单|订|进货)|"
    # writing there: "напишите в вотсап", "лучше в вк напишите"
    r"\b(?:на|в|во) (?:вк|вконтакте|вотсап\w*|ватсап\w*|вацап\w*)\b|вотсап\w*|ватсап\w*|"
    # an e-mail address for the order or the payment: "邮箱发给我…付款方式",
    # "un correo … transferencia"
    # (the post office is not: "por correo", "почтой")
    r"(?:邮箱|email|e-mail|(?:un|al|su|mi|nuestro) correo|"
    r"(?:пишите|напишите|электронн\w*) (?:на )?почт\w*)"
    r"[^。!?;\n]{0,40}?(?:付款方式|付款信息|转账|报价|收款|\bpay(?:ment)? (?:details|info)|"
    r"\btransfer\b|\bbank details|transferencia|datos (?:de pago|bancarios)|\bpago|"
    r"оформим заказ|заказ напрямую|оплат|перевод)|"
    r"(?:our|my) own (?:website|site|web ?shop|online store)\b|\b(?:our|my) site\b|"
    # a site spelled out against link filters: "shopxyz dot com"
    r"\bdot (?:com|net|org|shop|store|ru|es|cn|co)\b|"
    # money sent straight to the shop's account: "wire the money straight to our account",
    # "帐号给您，转帐过来就好", and the platform's commission as the reason
    r"\b(?:wire|transfer|send|pay)\b[^.!?;]{0,25}?\b(?:straight|directly|right) (?:to|into)\b|"
    r"\b(?:to|into) (?:our|my) (?:bank )?account\b|"
    r"(?:帐号|账号|卡号|账户|帐户)(?:发|给)(?:您|你)|转[账帐]过来(?:就好|就行|就可以|即可|吧|"
    r"更便宜|便宜)|"
    r"平台(?:的)?(?:抽成|扣点|佣金|抽佣)(?:太|很|好|比较)?(?:高|多|贵|狠)|"
    # the buyer's own handle asked for: "Pásame tu wasap", "send me ur whatsapp"
    r"\bwasap\w*|\bguasap\w*|\bwhatsap\b|"
    r"(?:pasame|dame|mandame|enviame) (?:tu|su) (?:numero|telefono|movil|telegram|insta\w*|ig)\b|"
    r"\b(?:send|give|drop) me (?:your|ur) (?:number|whatsapp|wechat|line|telegram|ig|insta)\b|"
    # an own site or mini-program to order on: "您去官网下单", "我们有自己的小程序",
    # "Закажите на нашем сайте", "comprar en nuestra web"
    # (not "到官网查询真伪": checking authenticity on the brand's site is no trade)
    r"官网(?:下单|购买|订购|买|更便宜|便宜|优惠)|(?:去|到|上)(?:我们的?)?(?:小程序|独立站)|"
    r"(?:自己的|我们的|我家的?)(?:小程序|独立站|商城)|小程序(?:里|上)?(?:下单|购买)|"
    r"на нашем сайте|на наш сайт|через (?:наш|мой) сайт|"
    r"en nuestra (?:web|pagina|tienda online)|en nuestro (?:sitio|sitio web)|"
    # the phone instead of the chat: "打我电话…私下处理", "call me at", "payment over the phone"
    r"(?:打|加|拨)我(?:的)?(?:电话|手机)|私下(?:处理|解决|联系|沟通|聊)|"
    r"\bcall me (?:at|on)\b|\b(?:pay|payment|paying) over the phone\b|"
    # a price of its own for a transfer: "汇款的话可以算您便宜一点", "bank transfer price"
    r"(?:汇款|转账|转帐)[^。!?;]{0,8}?(?:便宜|优惠|打折)|"
    r"\bbank transfer price\b|\btransfer (?:is|it's) cheaper\b|"
    r"\b(?:our|my) (?:website|web ?shop)\b|"
    r"(?:加|➕|\+)(?:我|个|下|一下)?v(?![a-z])|"
    r"转(?:给)?我(?:的)?(?:银行|户头|卡上|卡里|账户|帐户)|户头|平台(?:那边|那里)?就?不用(?:结帐|"
    r"结账|下单|付|拍)|"
    # a QQ or WeChat number given bare: "+q 2233445566", "qq 12345678", "加个q 5566778"
    r"(?:加|➕|\+) ?(?:个|下|一下)?(?:q|qq|扣扣) ?:? ?\d{5,}|(?<![a-z])qq ?:? ?\d{5,}|"
    # the shop on another marketplace, or "it's cheaper over there"
    r"(?:nuestra tienda|nuestro perfil|nuestra cuenta) (?:de|en) (?:mercado ?libre|amazon|ebay|"
    r"shopee|temu|wallapop|aliexpress)|(?:our|my) (?:store|shop|page) on (?:amazon|ebay|shopee|"
    r"temu|etsy|mercado ?libre|lazada|wildberries|ozon)|наш\w* магазин\w* (?:на|в) (?:ozon|озон\w*|"
    r"wildberries|вайлдберриз|avito|авито)|"
    r"(?:ahi|alli|alla) (?:sale|es|esta|cuesta|lo tiene\w*) mas barat\w*|\b(?:it's|it is|they're) "
    r"cheaper (?:there|over there)\b|там дешевле|там (?:цена|цены) ниже|(?:那边|那里|那儿)(?:会|"
    r"要)?(?:更|还)?便宜|"
    # leaving the platform said outright: "以后不走平台", "без площадки", "outside the app"
    r"不走平台|绕(?:开|过)平台|平台外|不(?:用|必)在平台|без площадки|мимо площадки|"
    r"в обход площадки|минуя площадку|вне площадки|outside the (?:app|platform)|"
    r"off the platform|off the app|skip the platform|\bdm me\b|\bpm me\b|"
    r"\bwhats ?app\b|\btelegram\b|телеграм\w*|вайбер|\bviber\b|"
    r"напрямую|(?:перевод\w*|переведите|оплатите|скиньте)\s+(?:\w+\s+){0,2}?на (?:мою )?"
    r"(?:карту|сбер\w*|тинькофф\w*|т-банк\w*|альфа-?банк\w*|киви|qiwi|юмани|юmoney)|"
    r"\bсбп\b|на мой номер|другой магазин|"
    r"\bbizum\b|transferencia directa|fuera de la plataforma|otra tienda|agreguem?e|agregame|"
    r"escribame por|"
    # PayPal is a checkout method on some platforms; paying a person through it is not
    r"paypal (?:friends|f&f|ff|directly|amigos|familia)|(?:my|our) paypal|paypal\.me|"
    r"(?:pasame|pasa|enviame|mandame|transfiereme|hazme) el (?:dinero|pago)|"
    # the shop's own channel to follow and order in: "关注我们的公众号，里面下单"
    r"关注(?:我们|我|本店|店铺)?的?(?:公众号|视频号|微信|抖音号)|公众号(?:里|上)?(?:下单|购买|买|"
    r"优惠)"
)
_OFF_CANCEL = (
    # "别" warns off the channel, but "别在这拍了" sends the buyer off the platform
    r"不要|请勿|切勿|别(?!在(?:这|这里|这边|平台))|不是我们|骗|不能|不会|只在|(?:不用|不需要|无需|没必要)加|"
    r"\bscam\b|\bfraud\b|\bnever\b|\bdon't\b|\bavoid\b|\bcan't\b|\bcannot\b|\bwon't\b|\bunable\b|"
    r"\bnot able\b|"
    r"\bне переводите\b|\bтолько через\b|(?<!маркетплейс )(?<!площадка )\bне\b|\bнет\b|"
    # the channel named to send the buyer back here: "все вопросы здесь в чате"
    r"здесь в чате|в этом чате|\bhere in (?:the |this )?chat\b|en este chat|aqui en el chat|"
    r"no hacemos|siempre dentro|\bnunca\b|\bno\b|\bni\b"
)

# Carriers by name: sending the buyer to "顺丰" or "DHL" is sending them to the courier.
_CARRIERS = (
    r"顺丰|中通|圆通|韵达|申通|极兔|邮政|京东物流|德邦|黑猫|宅急便|"
    r"\b(?:dhl|fedex|ups|usps|ems|tnt|gls|dpd|cainiao)\b|\bpost office\b|"
    # "пишите на почту" is e-mail, not the post office
    r"сдэк|(?<!пишите на )(?<!электронную )(?<!электронной )\bпочт\w*|"
    r"\bcdek\b|boxberry|\bcorreos\b|\bseur\b|\bmrw\b"
)
_COURIER_TOPIC = (
    _CARRIERS + r"|"
    r"快递|物流|承运|派送员|送货员|\bcourier\b|delivery company|shipping company|\bcarrier\b|"
    # the courier as chat calls him: "小哥一路扔坏的"
    r"小哥|"
    r"宅配|(?<!退)货运(?!费)|派件|\bpostal\b|royal mail|\breparto\b|\bagencia\b|"
    r"\bdelivery (?:driver|man|guy|person)\b|\bdriver\b|\bpostman\b|"
    r"repartidor|agencia de transporte|empresa de (?:transporte|mensajeria)|\bcartero\b|"
    r"почтальон\w*|"
    r"курьер\w*|служб\w* доставки|mensajeria|paqueteria|transportista|"
    r"перевозчик\w*|транспортн\w* компани\w*"
)
_COURIER_ACT = (
    # "没办法发顺丰,发中通可以吗" is the shop's choice of carrier, not blame
    r"管不了|管不着|没办法(?![发寄走用])|怪|的事|投诉他们|去问|得问|找他们|打给他们|"
    # the carrier said to have botched it: "накосячил", "messed up"; "out of our hands"
    r"накосячил\w*|напортачил\w*|\bmessed up\b|\bscrewed up\b|out of our hands|"
    # sending the buyer to it: "您自己催一下快递", "请找中通客服", "得跟顺丰反映"
    r"(?<![帮替给为])[您你](?:自己|直接|得|要|可以|就)*[^。!?;\n]{0,3}?(?:找|联系|联络|问|催|"
    r"反映|打|投诉|理赔)|"
    r"(?:请|要|得|去)(?:找|联系|联络|跟|和)|理赔|索赔|"
    r"\bfault\b|\bside\b|chase them|take it up|their problem|handled it badly|complain to them|"
    r"you(?:'ll| will)? (?:have|need) to (?:file|contact|call|ask|talk|claim)|"
    r"\bask (?:the |them|dhl|fedex|ups|ems)|talk to them|call them|file a claim|"
    r"up to (?:the |them)|their responsibility|\bbetween you and\b|"
    r"\bask (?:him|her|the driver)\b|\b(?:contact|call) (?:him|her)\b|"
    r"\bвин\w*|обращайтесь к ним|\bсами\b|не поможем|ни при ч|"
    r"\bзвоните\b|\bпишите\b|\bобращайтесь\b|вопрос\w* к|зона ответственности|их ответственност|"
    r"\bculpa\b|cosa de|reclame a|llame usted|no podemos hacer nada|"
    r"hable con|tiene que (?:resolver|reclamar|hablar|llamar|contactar)|resolver(?:lo)? con|"
    r"reclam\w*|\bllame a\b|pregunte a|no depende de nosotros|"
    # "a DHL thing", "give them a call", "not much we can do"; "Спросите в СДЭК"
    r"\b(?:a|their) (?:\w+ )?thing\b|\bgive them a (?:call|ring|shout)\b|"
    r"\b(?:not much|nothing) (?:we|i) can do\b|\bспросите\b|\bузнайте\b|\bобратитесь\b|"
    r"\b(?:call|contact|ask|ring|phone|chase|email|message|"
    r"reach out to|calling) [^.!?;]{0,20}?\b(?:yourself|urself)\b|"
    r"\bthey (?:lost|broke|damaged|dropped) it\b|"
    # the fault placed on the carrier and off the shop: "不归我们管", "是黑猫那边的问题，不是我们",
    # "down to the postal service", "no para la tienda", "не к нам"
    r"不归我们|不关我们|(?:跟|和|与)我们(?:没|无)关|(?:那边|那里|他们|公司)的(?:问题|责任|事)|"
    r"不是我们(?=的(?:问题|责任|错)|[,。!?;~]|$)|"
    r"\bnot (?:us|ours|on us)\b|\bnot our (?:fault|problem|responsibility)\b|"
    r"锅不在我们|不是我们的锅|"
    r"\bdown to (?:the|them)\b|\btake (?:it|that|this) up with\b|"
    r"\bdepende de (?!nosotros)|\bllamel(?:os|as|e)\b|no podemos tocar|"
    r"\bno (?:es )?(?:para|de) la tienda\b|la queja va|\bне к нам\b|"
    r"\btiene(?:s)? que \w+ con\b|\bno nos hacen caso\b"
)
_COURIER_CANCEL = (
    pt.WE_FOLLOW_UP + r"|不用您|给您补发|"
    # the shop answering for it: "快递压坏的话我们负责，给您换新的"
    r"我们(?:来)?(?:负责|承担|赔)|"
    # who acts is the shop: "我这就去找圆通查", "我们来跟物流交涉", "разберёмся сами",
    # "nosotros reclamamos a la mensajería por ti"
    r"我(?:这就|马上|现在|立刻)(?:去)?(?:找|联系|催|问)|我们来(?:跟|和|找|联系|处理|交涉)|"
    r"(?:разберемся|решим|уладим) (?:\w+ )?сами|вам никуда|"
    r"\bnosotros (?:reclamamos|hablamos|llamamos|nos encargamos|lo gestionamos|lo reclamamos)\b|"
    r"\bnot (?:the|a) (?:courier|carrier)|\bwasn't the\b|"
    r"we(?:'ve| have| will|'ll) (?:contacted|contact|handle|follow)|we'll resend|"
    r"мы связались|сообщим|hemos contactado|le informaremos|"
    # the shop has already complained and will write back: "Ya hemos reclamado a la
    # mensajería, le escribo en cuanto respondan"
    r"\b(?:ya )?(?:hemos|he) (?:reclamado|llamado|escrito|abierto)\b|\bya reclamamos\b|"
    r"\ble (?:escribo|escribimos|aviso|avisamos)\b|"
    r"\bwe(?:'ve| have)? (?:opened|filed|raised|lodged)\b|"
    r"мы (?:уже )?(?:написали|позвонили|обратились)|\bмы сами\b|\bсвяжемся\b"
)

# Stalling in refund talk without the steps or the time: "慢慢等", "just sit tight".
_STALL_ACT = (
    r"慢慢等|先等等|等等吧|先等[着著]|等[着著]吧|等[着著]就|再等等|等就行|等就到|别[着著]急|别急|"
    r"别催|急也没用|"
    r"早晚会|迟早会|总会到|eventually|sooner or later|когда-нибудь|en algun momento|"
    r"sit tight|hang on and wait|\bjust wait\b|\bgive it (?:some )?time\b|\bkeep calm\b|"
    r"耐住性子|耐[着著]性子|沉住气|"
    # "stay calm, don't hurry" idioms and a bare "no hurry" said to the buyer: "稍安勿躁",
    # "不着急哈，慢慢来"
    r"稍安勿躁|少安毋躁|莫急|甭急|别[着著]急|不要[着著]?急|慢慢来|"
    r"不[着著]急(?:哈|哦|啊|的|呀|嘛|啦|哒)*(?=[,。!?;~]|$)|"
    # English idioms of enduring it: "hang tight", "hold tight", "chill", "at some point",
    # "just gotta wait", "takes time"
    r"\bhang (?:tight|in there|on)\b|\bhold tight\b|\bchill\b|\bat some point\b|"
    r"\bhold on\b(?! (?:a |one )?(?:sec|second|moment|minute|min)\b)|\ba (?:bit|little) longer\b|"
    r"\bgotta wait\b|\bjust (?:have|need) to wait\b|\b(?:have|need) to wait\b|"
    r"\btakes? (?:time|a while|some time)\b|"
    # "it cannot be hurried": "急不来", "急不得", "催不来", "催也没用", and more days asked for
    # with no number: "您多等几天" (a number is a time: "包邮的，就是要多等两天" is delivery)
    r"急不(?:来|得|了)|催不(?:来|得|了)|催也没用|多等(?:几|些)天|"
    # English idioms of enduring the wait: "bear with us and wait", "bear with me"
    r"\bbear with (?:us|me)\b|"
    r"\bждите\b|\bпросто подождите\b|\bespere\b|no hay prisa|tenga calma|"
    # more days with no date, or "stop asking": "您稍等几天", "再等一下下就好，不用一直问"
    r"稍等几天|再等几天|再等一下下?就好|再等一下下|(?:不用|别|不要)一直(?:问|催)|"
    r"\baguarde\b|no se impaciente|cuando le toque|le llega seguro|"
    # the informal imperative and "it'll come": "espera tranquilo", "ya llegará tu reembolso";
    # "等消息就行", "再撐個幾天" (endure it), "терпите", "не торопите"
    r"\bespera(?:te)? (?:un poco mas|tranquil\w*|sentad\w*)|\bya (?:te )?llegara\b|"
    r"等(?:消息|通知)就(?:行|好|可以)|再撑|撑(?:个|过)?几天|\bтерпите\b|\bне торопите\b|"
    r"подождите еще|ждите еще|\bwait (?:a bit |a little )?longer\b"
)
# Saying what happens next, or when, is the compliant answer R-30 asks for.
_STALL_CANCEL = (
    r"我帮您|帮您查|帮您看|我查|我来查|工作日|工作天|(?<!迟早会)(?<!早晚会)(?<!总会)到账|原路|"
    r"\bi'll check|\bi will check|while i check|business days|\blet me (?:check|see|look)\b|"
    r"\bwhile (?:we|i) (?:check|look|confirm|chase|follow)|"
    r"проверю|рабоч|сейчас посмотрю|consulto|dias habiles|(?<!alg)un momento"
)

# Thanking the buyer for patience asks for none: "谢谢您耐心等候", "спасибо за терпение".
_PATIENCE_THANKED = (
    # spelled out so the automaton keys on "谢谢您的耐心", not on every "谢谢"
    "|".join(
        t + w + "耐心"
        for t in ("感谢", "谢谢", "多谢")
        for w in ("", "您", "你", "亲", "的", "您的", "你的", "亲的")
    )
    # keyed on the patience, not on "thanks"/"gracias por" that most replies end with
    + r"|за терпени|por su paciencia|por tu paciencia|for your patience|for the patience|"
    r"for waiting patiently|for being patient|что (?:вы )?терпеливо"
)
_PATIENT_ACT = (
    # enduring it asked for: "您就再忍耐几天", "麻烦您多点耐心", "aguanta unos días más"
    r"忍耐|忍一忍|多点耐心|多一点耐心|\baguant(?:a|e|ar)\b|"
    r"(?<!的)耐心等|耐心(?:一?点|些)等|наберитесь терпения|терпени\w*|"
    r"tenga (?:un poco de )?paciencia|"
    r"esperar con paciencia|(?<!su )(?<!tu )(?<!la )(?<!nuestra )\bpaciencia\b|"
    # English: "hold on patiently", "wait patiently", "be patient"
    r"\bpat(?:ie|ei|ia)n?t?ly\b|\bbe patient\b|\bhave patience\b|\bpatience please\b|потерпи\w*|"
    # the adverb: "подождите терпеливо", "терпеливо ждите"
    r"терпелив\w*"
)

_PRIVACY_TOPIC = (
    r"地址|电话|手机|收件人|收货人|寄给|下单(?:的|人)|住在|\baddress\b|\bphone\b|\brecipient\b|"
    r"placed by|"
    # a number only when digits follow it (a chat handle "号码是xiaomei_77" is no phone)
    r"号码(?=[^。!?;]{0,4}?[0123456789一二三四五六七八九零〇幺])|(?:付款|下单|购买)的(?:那位|人|买家)|\bулиц\w*|\bпроспект\w*|"
    r"\blives (?:at|in|on)\b|\bvive en\b|\bcalle\b|\bavenida\b|\bживет\b|\bпроживает\b|"
    r"адрес\w*|телефон\w*|получател\w*|оформлен на|"
    # "номер" as someone's phone, with digits after it: "номер, на который оформлена доставка",
    # "номер получателя" (not the shop's own "пишите в вайбер, номер …", nor an order number)
    r"\bномер(?:,? на который оформлен\w*|\s+(?:получател|покупател|клиент|заказчик)\w*)"
    r"(?=[^.!?;]{0,80}?[0123456789])|"
    r"direccion|destinatario|a nombre de|\bmovil\b|telefono|"
    # someone's number with digits after it: "her number is 0412 345 678", "su número es 11 5555"
    # (not an order number: the digits must follow at once)
    r"\b(?:her|his) (?:number|mobile|cell)(?= is \+?\d)|\bsu (?:numero|celular)(?= es \+?\d)"
)
_PRIVACY_ACT = (
    r"叫|尾号|是|改成|改好|更新|挪到|"
    # who receives it where: "Lo recibe una tal Lucía, en Madrid, portal 14…"
    r"\blo recibe\b|\bportal \d|"
    # given as where it went or whose it is: "寄到了广州…", "收件人姓陈"
    r"姓(?!名)|寄到|送到|发到|寄往|发往|住在|"
    # a phone number in Chinese numerals: "留的手机号一三八零零一三八零零零"
    r"(?:一|二|三|四|五|六|七|八|九|零|〇|幺)[一二三四五六七八九零〇幺]{6,}|"
    r"\blives (?:at|in|on)\b|\bvive en\b|"
    r"\bis\b|\bchanged\b|\bupdated\b|placed by|"
    r":|—|\bпоменяли\b|\bизменили\b|оформлен на|"
    r"\bes\b|cambie|actualizado|a nombre de|"
    # the detail itself: a street with its number, a phone word with its digits
    r"\bcalle [^.!?;]{0,25}?[0123456789]|\bavenida [^.!?;]{0,30}?[0123456789]|"
    r"\bулиц\w* [^.!?;]{0,25}?[0123456789]|\bпроспект\w* [^.!?;]{0,25}?[0123456789]|"
    r"telefono:? ?\+?[0123456789]|\bmovil:? ?\+?[0123456789]|телефон\w*:? ?\+?[0123456789]|"
    r"\bphone:? ?\+?[0123456789]"
)
_PRIVACY_CANCEL = (
    r"不能|无法|只能|请用|下单的?账号|付款的?账号|下单帐号|客服电话|客服热线|"
    r"can only|can't|cannot|please contact|from the account|"
    r"только с аккаунта|напишите нам с|"
    r"solo podemos|escribanos desde|desde la cuenta|"
    r"退货地址|寄回|return address|send it back|our warehouse|"
    r"адрес возврата|direccion de devolucion"
)

# Each code's own negation vocabulary from the patterns counts sentence-wide too: a concept is a
# coarser net than a pattern, so it must give way to the same words a pattern gives way to.
# "Not ours"/"not us" disclaims who keeps the fee, it does not waive it: "card = +3%, that's the
# bank's cut, not ours" still charges the buyer.
# A waiver said of another way of paying leaves the card's charge standing: "用卡结帐的多收三趴，
# 现金的话免" waives nothing for the card.
_OTHER_WAY_WAIVER = "".join(
    f"(?<!{way}{tail})"
    for way in ("现金", "付现", "余额", "转账", "转帐", "支付宝", "储蓄卡", "借记卡")
    for tail in ("", "的话", "就", "的话就", "付", "支付")
)
_CARD_NEG_WORDS = (
    pt.CARD_NEG_WORDS.replace(
        r"\b(?:no|not|", r"\b(?:no|not(?! (?:ours|us|mine|our \w+)\b)|", 1
    ).replace("免|", _OTHER_WAY_WAIVER + "免|", 1)
    + "|"
    + pt.CARD_EXEMPT
)
if _CARD_NEG_WORDS == pt.CARD_NEG_WORDS + "|" + pt.CARD_EXEMPT or not pt.CARD_NEG_WORDS.startswith(
    "免|"
):
    raise ValueError("the card negation no longer starts with the waiver and the English words")
_COURIER_NEG = (
    r"\bisn't\b|\bwasn't\b|不是(?!我们)|并非|不用您|无需您|don't need to|no need to|"
    r"не нужно|no hace falta|no tiene que"
)

# Asking the buyer for a detail discloses nothing ("您的手机号是多少", "what is your address").
_ASKING = (
    r"多少|哪里|哪个|什么|请提供|请告诉|麻烦提供|请确认|\bwhat\b|\bwhich\b|\bcould you\b|"
    r"\bplease (?:send|give|provide|confirm)\b|какой|какая|уточните|\bcual\b|¿\s*que\b|"
    r"\bindiquenos\b"
)
# The shop's own addresses are the patterns' exemption too (warehouse, returns, after-sale).
_OWN_ADDRESS = pt.PRIVACY_EXEMPT.pattern

CONCEPTS: tuple[Concept, ...] = (
    _c("invoice", _INVOICE_TOPIC, _INVOICE_ACT, _INVOICE_CANCEL),
    _c("card_fee", _CARD_TOPIC, _CARD_ACT, until_contrast(_CARD_CANCEL + "|" + _CARD_NEG_WORDS)),
    # Its topic is the other way of paying: a reply naming none is skipped before any regex.
    _c(
        "card_price",
        _OTHER_WAYS,
        _CARD_PRICE_ACT,
        _CARD_CANCEL,
        reports="card_fee",
        whole_reply=True,
    ),
    _c("free_shipping", _POSTAGE_TOPIC, _POSTAGE_ACT, _POSTAGE_CANCEL),
    _c("refuse_to_ship", None, _REFUSAL_ACT),
    _c("refuse_order", _ORDER_TOPIC, _ORDER_REFUSAL, reports="refuse_to_ship"),
    _c("ship_delay", _DELAY_TOPIC, _DELAY_ACT, _DELAY_CANCEL, reports="refuse_to_ship"),
    _c("stock_excuse", None, _STOCK_EXCUSE),
    # after the excuse: a sentence holding both quotes the excuse, as it did before this reader
    _c("cancel_ask", None, _CANCEL_ASK, _CANCEL_ASK_CANCEL, reports="stock_excuse"),
    _c("off_platform", None, _OFF_ACT, _OFF_CANCEL),
    _c("blame_courier", _COURIER_TOPIC, _COURIER_ACT, _COURIER_CANCEL + "|" + _COURIER_NEG),
    _c("wait_patiently", None, _PATIENT_ACT, _PATIENCE_THANKED),
    _c("wait_stall", None, _STALL_ACT, _STALL_CANCEL, reports="wait_patiently"),
    _c(
        "privacy",
        _PRIVACY_TOPIC,
        _PRIVACY_ACT,
        _PRIVACY_CANCEL + "|" + _ASKING + "|" + _OWN_ADDRESS,
    ),
)

# Said anywhere in the sentence holding a hit of any kind (pattern or concept), these mean the
# sentence explains or refuses the violation rather than committing it.
# A short question joins its answer into one sentence ("您问要不要补运费？不用补的，包邮"): an
# answer that opens with "no need" right after the question mark refuses the charge asked about.
_ANSWERED_NO = (
    r"\?(?:亲,?)?(?:不用|不需要|无需|不必)(?!担心)|"
    # the charge asked about denied outright: "开票另收钱？没有的事，正常给您开"
    r"\?(?:亲,?)?(?:没有的事|没这回事|没有这回事|哪有|不会的|当然不)"
)

SCOPE_CANCEL: dict[str, re.Pattern[str]] = {
    "free_shipping": re.compile(
        _ANSWERED_NO + r"|"
        # the region named as not charged: "西藏也不加钱", "新疆同样不收运费" — but not a
        # condition or a refusal to ship: "不补运费的话发不了"
        r"(?:也|都|一样|同样|照样)不(?:用|需要?)?(?:加|补|收|另付|多付|另收)|"
        r"不(?:加|收|另收|多收)(?:钱|运费|邮费|差价)(?![^。!?;]{0,6}?(?:不发|发不了|的话|就不))"
    ),
    "off_platform": re.compile(
        r"骗|不要相信|别相信|不是我们|\bscam\b|\bfraud\b|never ask|мошенн|estafa|"
        # paying on the platform asked for, private payment warned against
        r"(?:请|只)在平台|没有?保障|不受保护|\bnot protected\b|"
        # a wallet offered as the platform's own checkout method: "收银台能用微信付款"
        r"(?:收银台|付款方式|支付方式|结算页|付款页|下单页)[^。!?;]{0,8}?(?:微信|支付宝|云闪付)|"
        r"\bwechat pay at (?:the )?checkout\b|"
        # warnings against impostors, and "pay only on the platform"
        r"冒充|只在平台|claims? to be us|in our name|от нашего имени|en nuestro nombre|"
        r"only (?:on|through|via) the platform|только через платформу|"
        r"solo (?:dentro de|en|por) la plataforma|"
        # someone else asking, reported: "if someone asks you to pay outside..., report it"
        r"\bif (?:someone|anyone|anybody|somebody)\b|\breport (?:it|them|this|that|him|her)\b|"
        r"如果有人|若有人|举报|если кто-то|сообщите нам|si alguien|denuncie|"
        r"(?:不要|别|请勿|不用)理会|\bignore (?:it|them|this|that)\b"
    ),
    # "抬头" is asking for the invoice title, but "抬头金额" is the amount written on it.
    "invoice": re.compile(
        _ANSWERED_NO + r"|抬头(?!金额)|不能(?:改|多开|少开)|不能按(?!实)|"
        # a type refused and the ordinary invoice offered: "专票开不了，普票可以正常开" (the rule
        # asks for an invoice, not every kind; a contrast after the offer starts a new ask)
        r"(?:普票|普通发票|电子发票|电子普票|增值税普通发票|普通电子发票|电子普通发票)"
        r"(?:[^。!?;]{0,6}?)(?<!不)(?<!没)"
        r"(?:可以|能|照常|正常|照开|没问题)" + _CONTRAST_AFTER + r"|"
        r"(?:和|跟|与)实付(?:金额)?(?:一样|一致|相同)|"
        # "只能按实付开" is the rule; "只能按成本价开" is another amount
        r"只能按(?=实|您?实际|付款|支付|订单|您付)|只能全额|"
        r"按实际|按实付"
    ),
    # the fee said to be nothing: "手续费为零", "costs nothing extra"
    "card_fee": re.compile(
        _ANSWERED_NO + r"|手续费(?:为|是)(?:零|0)|零手续费|0手续费|"
        r"\bcosts? nothing\b|nothing extra|"
        # the fee is not the buyer's concern, or not added: "跟您没关系", "不额外加价"
        r"(?:跟|和|与)(?:您|你|亲)(?:没|无)关|不额外(?:加|收)|"
        # the buyer pays nothing more ("您这边不用加钱", "不用您多出钱"), or the fee is someone
        # else's business ("手续费是平台的事", "由我们承担")
        r"(?:不用|无需|不需要|不必)(?:您|你|亲)?(?:这边|那边)?(?:再|另外|额外)?"
        r"(?:加钱|加价|多付|多出|另付|多交|补钱|出手续费|付手续费)|"
        r"(?:是|归|由)(?:平台|我们|店铺|商家|本店)(?:的事|来?出|来?承担|来?负责|来?付)|"
        # someone else's charge warned against, or no fee at all said anywhere in the sentence
        r"有人让您|如果有人|千万别信|别信|不要(?:相)?信|从不收|从来不收|不收任何|"
        r"комисси\w* нет|нет комисси\w*|цена одна|одна цена"
    ),
    "blame_courier": re.compile(r"不用您|我们(?:来)?(?:负责|承担|赔)|" + pt.WE_FOLLOW_UP),
    "privacy": re.compile(
        r"请用|下单的?帐?账?号|付款的?帐?账?号|客服电话|客服热线|\bhotline\b|customer service|"
        r"\bsupport line\b|\bhelpline\b|售后|客服部"
    ),
}

# An agent restating the buyer's question before answering it ("您是想问发票需要另外付钱吗？",
# "Do you mean the card price is higher?") repeats the ask; it offers nothing. Only a sentence
# that opens with such a frame and ends in a question mark is let through: a question that
# proposes the violation itself ("开发票要加6个点可以吗？") has no restating frame.
ECHO_QUESTION = re.compile(
    r"您是想问|你是想问|您是问|你是问|您问(?!问|一下)|你问(?!问|一下)|您是说|你是说|您的意思是|"
    r"你的意思是|您问的是|您想问的是|"
    r"您是想了解|您是想确认|您是指|请问您是说|您说的|你说的|您指的|你指的|"
    r"\b(?:you're|you are|are you) asking\b|\bdo you mean\b|\byou mean\b|\bis your question\b|"
    r"\byou(?:'d like| would like| want) to know\b|"
    r"\bвы спрашиваете\b|\bвы имеете в виду\b|\bвы хотите узнать\b|\bваш вопрос\b|"
    r"\bвы интересуетесь\b|"
    r"\bpregunta (?:si|usted si)\b|\bquiere saber si\b|\bse refiere a\b|\bsu pregunta es\b|"
    r"\bme pregunta si\b"
)
# ...unless the answer right after it agrees: "您的意思是发票开高一点吗？可以的。" grants the ask.
ECHO_AGREED = re.compile(
    r"\s*(?:可以|行的|行啊|行,|没问题|好的|是的|当然|能的|能开|"
    r"yes\b|sure\b|of course|ok\b|okay\b|we can(?!'|not| not)\b|"
    # Spanish "sí" folds to "si" ("if"): only as a word of its own before a stop or comma.
    r"да\b|конечно|можно|si(?=\s*[,.!])|claro|por supuesto|vale\b|podemos\b)"
)
# How far into the sentence the frame may start ("亲，您是想问…", "Just to check: do you mean…").
ECHO_FRAME_WITHIN = 16

# The extortion pattern of R-44: "I bought with my other account, send me the address and
# phone". Judged on what the buyer wrote, folded like every outgoing text.
_OTHER_ACCOUNT = re.compile(
    # 小号/大号 alone are also clothing sizes: only as the account that bought.
    r"另一个(?:号|账号|帐号|id)|另外一个(?:号|账号|帐号)|别的(?:号|账号|帐号)|"
    r"[小大]号(?:买|下单|拍|付)|"
    r"其他(?:号|账号|帐号)|朋友的?(?:号|账号|帐号)|"
    r"\b(?:my |an)?other (?:account|id)\b|\banother (?:account|id)\b|"
    r"друг(?:ой|ого|ом) аккаунт\w*|\bотра cuenta\b|\bmi otra cuenta\b"
)
_DETAILS = re.compile(
    r"地址|电话|手机|收件人|收货人|名字|姓名|\baddress\b|\bphone\b|\bname\b|"
    r"адрес\w*|телефон\w*|имя|\bdireccion\b|\btelefono\b|\bnombre\b"
)


def asks_for_another_account(folded: str) -> bool:
    """True when a buyer's (folded) message asks about an order's details for another account."""
    return _OTHER_ACCOUNT.search(folded) is not None and _DETAILS.search(folded) is not None


CONCEPT_BY_CODE: dict[str, Concept] = {concept.code: concept for concept in CONCEPTS}
