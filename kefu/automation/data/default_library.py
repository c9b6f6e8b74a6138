# ruff: noqa: E501 - Chinese lines are measured in display width; the text reads better unbroken.
"""The default reply-script library (话术库) loaded into a new shop.

Written for Kefu in its own words. Covers the R-10 topics per stage and every R-12
scenario, each in English, Russian, Spanish and simplified Chinese. `examples` are buyer
phrasings used to retrieve the script (R-13); `order_states` are the order/parcel states the
script is written for (see kefu.automation.suggest.ORDER_STATES).
"""

from __future__ import annotations

from typing import TypedDict


class LibraryScript(TypedDict):
    key: str
    stage: str
    topic: str
    title: str
    order_states: list[str]
    examples: dict[str, list[str]]
    bodies: dict[str, str]


SCRIPTS: list[LibraryScript] = [
    # ---------------------------------------------------------------- pre-sale 售前
    {
        "key": "product-question",
        "stage": "pre_sale",
        "topic": "product_questions",
        "title": "Answer a product question",
        "order_states": [],
        "examples": {
            "en": [
                "what size is it",
                "what material is this made of",
                "does it come in black",
                "is this compatible with my phone",
            ],
            "ru": [
                "какой размер",
                "из какого материала",
                "есть ли черный цвет",
                "подойдет ли к моему телефону",
            ],
            "es": [
                "qué talla tiene",
                "de qué material es",
                "lo tienen en negro",
                "es compatible con mi teléfono",
            ],
            "zh-hans": ["这个是什么材质的", "尺寸多大", "有黑色的吗", "适合我的手机吗"],
        },
        "bodies": {
            "en": "Hello {buyer_name}, thank you for your interest in {product}! I'm "
            "{agent_name}. Here are the details you asked about: [details]. Would you "
            "like the standard version or the one with extra accessories?",
            "ru": "Здравствуйте, {buyer_name}! Спасибо за интерес к товару {product}. Меня "
            "зовут {agent_name}. Вот ответ на ваш вопрос: [подробности]. Вам больше "
            "подойдет стандартный вариант или комплект с аксессуарами?",
            "es": "¡Hola, {buyer_name}! Gracias por tu interés en {product}. Soy "
            "{agent_name}. Estos son los detalles que pediste: [detalles]. ¿Prefieres la "
            "versión estándar o la que incluye accesorios?",
            "zh-hans": "亲，您好，我是客服{agent_name}，感谢您关注{product}！您问到的信息如下："
            "[详情]。您想要标准款，还是带配件的套装呢？",
        },
    },
    {
        "key": "shipping-channels",
        "stage": "pre_sale",
        "topic": "shipping_channels",
        "title": "Explain the shipping options",
        "order_states": [],
        "examples": {
            "en": [
                "which shipping methods do you have",
                "can you ship by express",
                "do you ship to my country",
                "is there faster shipping",
            ],
            "ru": [
                "какие способы доставки",
                "можно отправить экспрессом",
                "доставляете в мою страну",
                "есть быстрая доставка",
            ],
            "es": [
                "qué métodos de envío tienen",
                "pueden enviarlo por exprés",
                "envían a mi país",
                "hay envío más rápido",
            ],
            "zh-hans": ["有哪些快递可以选", "能发顺丰吗", "可以寄到我们国家吗", "有更快的物流吗"],
        },
        "bodies": {
            "en": "Hi {buyer_name}, we offer two ways to ship: the free standard line, which "
            "usually takes 15-30 days, and a paid express line that takes about 7-12 "
            "days. Both come with a tracking number. Which one suits you better?",
            "ru": "Здравствуйте, {buyer_name}! У нас два способа доставки: бесплатная "
            "стандартная (обычно 15–30 дней) и платная экспресс-доставка (около 7–12 "
            "дней). В обоих случаях будет трек-номер. Какой вариант вам удобнее?",
            "es": "Hola, {buyer_name}: tenemos dos opciones de envío: la estándar gratuita, "
            "que suele tardar de 15 a 30 días, y la exprés de pago, de unos 7 a 12 días. "
            "Ambas tienen número de seguimiento. ¿Cuál te conviene más?",
            "zh-hans": "亲，我们有两种发货方式：免费的标准物流，一般15-30天送达；"
            "付费的快速专线，大约7-12天。两种都有运单号可以查询，您更倾向哪一种呢？",
        },
    },
    {
        "key": "delivery-time",
        "stage": "pre_sale",
        "topic": "delivery_time",
        "title": "How long delivery takes",
        "order_states": [],
        "examples": {
            "en": [
                "how long does delivery take",
                "when will I get it if I order today",
                "how many days to arrive",
            ],
            "ru": [
                "сколько идет доставка",
                "когда придет если закажу сегодня",
                "сколько дней идет посылка",
            ],
            "es": [
                "cuánto tarda el envío",
                "cuándo llega si lo pido hoy",
                "cuántos días tarda en llegar",
            ],
            "zh-hans": ["多久能到", "今天下单什么时候能收到", "大概几天到货"],
        },
        "bodies": {
            "en": "Hello {buyer_name}! We ship within {ship_by_hours} hours of payment. Delivery to your "
            "area normally takes 15-25 days, sometimes a little longer in peak season. "
            "You will get a tracking number as soon as the parcel leaves us.",
            "ru": "Здравствуйте, {buyer_name}! Мы отправляем заказ в течение {ship_by_hours} часов после "
            "оплаты. Доставка в ваш регион обычно занимает 15–25 дней, в сезон "
            "распродаж чуть дольше. Трек-номер вы получите сразу после отправки.",
            "es": "¡Hola, {buyer_name}! Enviamos en un plazo de {ship_by_hours} horas tras el pago. La "
            "entrega en tu zona suele tardar de 15 a 25 días, algo más en temporada "
            "alta. Recibirás el número de seguimiento en cuanto salga el paquete.",
            "zh-hans": "亲，付款后{ship_by_hours}小时内发货，寄到您所在地区一般需要15-25天，大促期间可能稍慢一些。"
            "包裹发出后您马上就能看到运单号哦。",
        },
    },
    {
        "key": "import-duties-before",
        "stage": "pre_sale",
        "topic": "import_duties",
        "title": "Will I pay import duty?",
        "order_states": [],
        "examples": {
            "en": ["will I have to pay customs duty", "are taxes included", "do I pay import tax"],
            "ru": [
                "нужно ли платить таможенную пошлину",
                "налоги включены в цену",
                "придется платить пошлину",
            ],
            "es": [
                "tendré que pagar aduana",
                "los impuestos están incluidos",
                "hay que pagar impuestos de importación",
            ],
            "zh-hans": ["要交关税吗", "价格含税吗", "进口税谁来付"],
        },
        "bodies": {
            "en": "Hi {buyer_name}, good question. The price covers export clearance on our "
            "side. Import duty is decided by your local customs and, if they charge it, "
            "it is paid by the receiver. Most small parcels pass without any charge, "
            "but we cannot promise it for every parcel.",
            "ru": "Здравствуйте, {buyer_name}! Хороший вопрос. В цену входит экспортное "
            "оформление с нашей стороны. Ввозную пошлину определяет ваша таможня, и если "
            "она ее начислит, оплачивает получатель. Большинство небольших посылок "
            "проходит без оплаты, но гарантировать это для каждой мы не можем.",
            "es": "Hola, {buyer_name}, buena pregunta. El precio incluye el despacho de "
            "exportación por nuestra parte. Los aranceles de importación los decide la "
            "aduana de tu país y, si se cobran, los paga el destinatario. La mayoría de "
            "paquetes pequeños pasan sin cargos, pero no podemos garantizarlo siempre.",
            "zh-hans": "亲，出口清关费用已经包含在价格里。进口关税由目的国海关决定，如果产生是由收件人支付的。"
            "大部分小包裹不会被征税，但我们没法保证每个包裹都不被抽查哦。",
        },
    },
    {
        "key": "low-declaration",
        "stage": "pre_sale",
        "topic": "low_declaration",
        "title": "Request to declare a lower value",
        "order_states": [],
        "examples": {
            "en": [
                "can you declare a lower value",
                "please write gift on the parcel",
                "declare it cheaper for customs",
            ],
            "ru": [
                "можете указать меньшую стоимость",
                "напишите что это подарок",
                "занизьте цену в декларации",
            ],
            "es": [
                "pueden declarar un valor más bajo",
                "pongan que es un regalo",
                "declaren menos valor en aduana",
            ],
            "zh-hans": ["能低报价值吗", "申报的时候写礼物可以吗", "报关写便宜一点"],
        },
        "bodies": {
            "en": "Hi {buyer_name}, I understand you want to avoid extra costs. We declare a "
            "modest value as the platform allows, but customs can open and check any "
            "parcel whatever is written on it, so a low declaration is never a "
            "guarantee. If you like, I can suggest a shipping line with fewer checks.",
            "ru": "Здравствуйте, {buyer_name}! Понимаю, что вы хотите избежать лишних "
            "расходов. Мы указываем умеренную стоимость в рамках правил площадки, но "
            "таможня может проверить любую посылку независимо от декларации. Могу "
            "предложить способ доставки, где проверок меньше.",
            "es": "Hola, {buyer_name}, entiendo que quieras evitar gastos extra. Declaramos un "
            "valor moderado dentro de las normas de la plataforma, pero la aduana puede "
            "revisar cualquier paquete sea cual sea lo declarado. Si quieres, te "
            "recomiendo una línea de envío con menos inspecciones.",
            "zh-hans": "亲，理解您想少些额外费用。我们会在平台规则允许的范围内适当申报，"
            "但不管申报多少，海关都可能抽查任何包裹，低申报并不能保证免税。"
            "需要的话我可以推荐查验较少的物流线路。",
        },
    },
    {
        "key": "price-bargain",
        "stage": "pre_sale",
        "topic": "price",
        "title": "Buyer asks for a lower price",
        "order_states": [],
        "examples": {
            "en": [
                "can you give me a discount",
                "it is too expensive",
                "best price if I buy two",
                "any coupon",
            ],
            "ru": ["можно скидку", "слишком дорого", "какая цена если возьму два", "есть купон"],
            "es": [
                "me puedes hacer un descuento",
                "es demasiado caro",
                "mejor precio si compro dos",
                "tienen cupón",
            ],
            "zh-hans": ["能便宜点吗", "太贵了", "买两个有优惠吗", "有优惠券吗"],
        },
        "bodies": {
            "en": "Hi {buyer_name}, thank you for asking! The price of {product} is already "
            "our promotion price, so I can't lower it, but I can offer you a choice: "
            "free express upgrade on this order, or a coupon for your next purchase. "
            "Which would you prefer?",
            "ru": "Здравствуйте, {buyer_name}! Цена на {product} уже акционная, снизить ее я "
            "не могу, но могу предложить на выбор: бесплатную ускоренную доставку для "
            "этого заказа или купон на следующую покупку. Что вам больше подходит?",
            "es": "Hola, {buyer_name}, ¡gracias por preguntar! {product} ya tiene precio de "
            "promoción y no puedo bajarlo, pero te ofrezco elegir: envío exprés gratis "
            "en este pedido o un cupón para tu próxima compra. ¿Qué prefieres?",
            "zh-hans": "亲，{product}现在已经是活动价了，价格没法再降，不过可以给您两个选择："
            "这单免费升级快递，或者送您一张下次使用的优惠券，您看选哪个呢？",
        },
    },
    {
        "key": "gifts",
        "stage": "pre_sale",
        "topic": "gifts",
        "title": "Gifts with the order",
        "order_states": [],
        "examples": {
            "en": ["do you send a gift", "is there a free gift", "can I get something extra"],
            "ru": ["будет подарок", "есть ли бесплатный подарок", "положите что-нибудь в подарок"],
            "es": ["mandan algún regalo", "hay regalo gratis", "me pueden dar algo extra"],
            "zh-hans": ["有赠品吗", "送小礼物吗", "能多送点东西吗"],
        },
        "bodies": {
            "en": "Hello {buyer_name}! Yes, every order this month includes a small gift "
            "from us, while stocks last. Leave a note with your order if you have a "
            "colour preference and we will do our best.",
            "ru": "Здравствуйте, {buyer_name}! Да, в этом месяце к каждому заказу мы "
            "добавляем небольшой подарок, пока он есть в наличии. Если есть пожелание "
            "по цвету, оставьте комментарий к заказу, мы постараемся учесть.",
            "es": "¡Hola, {buyer_name}! Sí, este mes cada pedido lleva un pequeño regalo "
            "nuestro, hasta agotar existencias. Si prefieres algún color, déjalo en una "
            "nota del pedido y haremos lo posible.",
            "zh-hans": "亲，本月每个订单都会附赠一份小礼物，送完即止哦。"
            "如果对颜色有偏好，下单时备注一下，我们尽量满足您。",
        },
    },
    {
        "key": "payment-reminder",
        "stage": "pre_sale",
        "topic": "payment_reminder",
        "title": "Payment reminder (催付)",
        "order_states": ["unpaid"],
        "examples": {
            "en": [
                "I placed the order but did not pay yet",
                "I forgot to pay",
                "how do I pay for my order",
            ],
            "ru": ["я оформил заказ но не оплатил", "забыл оплатить", "как оплатить заказ"],
            "es": ["hice el pedido pero no lo he pagado", "olvidé pagar", "cómo pago mi pedido"],
            "zh-hans": ["拍下了还没付款", "忘记付款了", "怎么付款"],
        },
        "bodies": {
            "en": "Hi {buyer_name}, this is {agent_name}. Your order {order_id} is reserved "
            "for you but still waiting for payment. If you pay now, we can pack it and "
            "ship it today. Let me know if anything is unclear about the payment.",
            "ru": "Здравствуйте, {buyer_name}! Это {agent_name}. Ваш заказ {order_id} "
            "зарезервирован, но еще не оплачен. Если оплатите сейчас, мы упакуем и "
            "отправим его уже сегодня. Если с оплатой что-то непонятно, напишите мне.",
            "es": "Hola, {buyer_name}, soy {agent_name}. Tu pedido {order_id} está reservado "
            "pero aún pendiente de pago. Si lo pagas ahora, lo preparamos y lo enviamos "
            "hoy mismo. Avísame si tienes alguna duda con el pago.",
            "zh-hans": "亲，我是{agent_name}，您的订单{order_id}已经为您预留，还差付款哦。"
            "现在付款今天就能打包发出，付款有任何问题随时找我。",
        },
    },
    # payment help at the peak, when payment systems are under load.
    {
        "key": "payment-failed",
        "stage": "pre_sale",
        "topic": "payment_failed",
        "title": "Payment failed or stuck (at the peak)",
        "order_states": ["unpaid"],
        "examples": {
            "en": [
                "my payment failed",
                "the payment is stuck on processing",
                "my card was declined",
                "I paid but the order still says unpaid",
            ],
            "ru": [
                "оплата не прошла",
                "платеж завис в обработке",
                "карту отклонили",
                "я оплатил а заказ не оплачен",
            ],
            "es": [
                "el pago falló",
                "el pago se quedó procesando",
                "me rechazaron la tarjeta",
                "pagué pero el pedido sigue sin pagar",
            ],
            "zh-hans": ["付款失败了", "支付一直在处理中", "银行卡被拒了", "付了款订单还显示未付款"],
        },
        "bodies": {
            "en": "Hi {buyer_name}, sorry the payment for order {order_id} did not go "
            "through. During the sale payment systems are very busy, so this happens: "
            "please wait a few minutes and try again, or choose another card or payment "
            "method at checkout. If money left your account but the order still shows "
            "unpaid, it is returned to you automatically; send me a screenshot and I "
            "will check it with the platform. Your order stays reserved meanwhile. — "
            "{agent_name}",
            "ru": "Здравствуйте, {buyer_name}! Жаль, что оплата заказа {order_id} не "
            "прошла. Во время распродажи платежные системы перегружены, так бывает: "
            "подождите несколько минут и попробуйте снова или выберите другую карту или "
            "способ оплаты. Если деньги списались, а заказ все еще не оплачен, они "
            "вернутся автоматически; пришлите скриншот, и я проверю это с площадкой. "
            "Заказ пока остается за вами. — {agent_name}",
            "es": "Hola, {buyer_name}, siento que el pago del pedido {order_id} no se "
            "completara. Durante las rebajas los sistemas de pago están muy cargados y "
            "pasa a veces: espera unos minutos y vuelve a intentarlo, o elige otra "
            "tarjeta u otro método de pago. Si el dinero salió de tu cuenta pero el "
            "pedido sigue sin pagar, se te devuelve automáticamente; envíame una captura "
            "y lo reviso con la plataforma. Tu pedido sigue reservado. — {agent_name}",
            "zh-hans": "亲，抱歉订单{order_id}付款没有成功。大促期间支付系统很繁忙，偶尔会这样："
            "请稍等几分钟再试，或者换一张卡、换一种支付方式。如果钱已经扣了但订单还显示未付款，"
            "款项会自动退回，您把截图发给我，我帮您和平台核实。订单会一直为您保留。——{agent_name}",
        },
    },
    {
        "key": "payment-methods",
        "stage": "pre_sale",
        "topic": "payment_methods",
        "title": "Which payment method works best",
        "order_states": ["unpaid"],
        "examples": {
            "en": [
                "how can I pay",
                "which payment methods do you accept",
                "can I pay with PayPal",
                "what is the fastest way to pay",
            ],
            "ru": [
                "как можно оплатить",
                "какие способы оплаты",
                "можно оплатить через PayPal",
                "как быстрее всего оплатить",
            ],
            "es": [
                "cómo puedo pagar",
                "qué métodos de pago aceptan",
                "puedo pagar con PayPal",
                "cuál es la forma más rápida de pagar",
            ],
            "zh-hans": ["可以用什么方式付款", "支持哪些支付方式", "能用花呗吗", "怎么付款最快"],
        },
        "bodies": {
            "en": "Hi {buyer_name}, you can pay at checkout with any method the platform "
            "shows you: bank cards, the platform's wallet and the local methods of your "
            "country. The quickest is usually a card already saved in your account; "
            "during big sales, if one method is slow, another one often goes through "
            "at once. Every method is paid on the platform, with no extra fee.",
            "ru": "Здравствуйте, {buyer_name}! Оплатить можно любым способом, который "
            "площадка показывает при оформлении: банковской картой, кошельком площадки и "
            "местными способами вашей страны. Быстрее всего обычно карта, уже "
            "сохраненная в аккаунте; во время распродаж, если один способ тормозит, "
            "другой часто проходит сразу. Оплата всегда на площадке, без доплат.",
            "es": "Hola, {buyer_name}, puedes pagar con cualquier método que la plataforma "
            "te muestre al finalizar la compra: tarjetas, el monedero de la plataforma y "
            "los métodos locales de tu país. Lo más rápido suele ser una tarjeta ya "
            "guardada en tu cuenta; en las rebajas, si un método va lento, otro suele "
            "funcionar al momento. Todo se paga en la plataforma, sin comisiones extra.",
            "zh-hans": "亲，结算时平台显示的支付方式都可以用：银行卡、平台钱包和您所在地区的本地支付方式。"
            "一般用账户里已绑定的卡最快；大促期间如果某种方式比较慢，换一种往往马上就能成功。"
            "所有方式都在平台内支付，不收额外手续费。",
        },
    },
    # answers built on the product's own facts (filled from the catalogue).
    {
        "key": "product-shelf-life",
        "stage": "pre_sale",
        "topic": "product_facts",
        "title": "Shelf life of the product",
        "order_states": [],
        "examples": {
            "en": ["what is the shelf life", "when does it expire", "how long does it keep"],
            "ru": ["какой срок годности", "когда истекает срок", "сколько хранится"],
            "es": ["cuál es la fecha de caducidad", "cuándo caduca", "cuánto dura sin abrir"],
            "zh-hans": ["保质期多久", "什么时候过期", "能放多久"],
        },
        "bodies": {
            "en": "Hi {buyer_name}, {product} keeps for {product_shelf_life}. Every parcel "
            "is packed from fresh stock.",
            "ru": "Здравствуйте, {buyer_name}! Срок годности товара {product}: "
            "{product_shelf_life}. Каждую посылку мы собираем из свежей партии.",
            "es": "Hola, {buyer_name}, {product} se conserva {product_shelf_life}. Cada "
            "paquete se prepara con existencias recientes.",
            "zh-hans": "亲，{product}的保质期是{product_shelf_life}，每单都是新批次发货哦。",
        },
    },
    {
        "key": "product-suits",
        "stage": "pre_sale",
        "topic": "product_facts",
        "title": "Who the product suits",
        "order_states": [],
        "examples": {
            "en": ["is it suitable for children", "who is this for", "will it suit me"],
            "ru": ["подходит ли для детей", "для кого этот товар", "мне подойдет"],
            "es": ["es apto para niños", "para quién es", "me servirá a mí"],
            "zh-hans": ["适合小孩用吗", "适合什么人", "我能用吗"],
        },
        "bodies": {
            "en": "Hi {buyer_name}, {product} suits {product_suits}. Tell me a little "
            "about how you will use it and I will confirm it is the right choice.",
            "ru": "Здравствуйте, {buyer_name}! {product} подходит: {product_suits}. "
            "Расскажите, как вы будете им пользоваться, и я подтвержу, что это ваш "
            "вариант.",
            "es": "Hola, {buyer_name}, {product} es adecuado para {product_suits}. "
            "Cuéntame cómo lo vas a usar y te confirmo si es la opción correcta.",
            "zh-hans": "亲，{product}适合{product_suits}。您说说打算怎么用，我帮您确认是否合适。",
        },
    },
    {
        "key": "product-ships-from",
        "stage": "pre_sale",
        "topic": "product_facts",
        "title": "Where the product ships from and when",
        "order_states": [],
        "examples": {
            "en": [
                "where does it ship from",
                "do you have a local warehouse",
                "when do you send it",
            ],
            "ru": ["откуда отправка", "есть ли местный склад", "когда отправите товар"],
            "es": ["desde dónde se envía", "tienen almacén local", "cuándo lo envían"],
            "zh-hans": ["从哪里发货", "有海外仓吗", "下单后多久发货"],
        },
        "bodies": {
            "en": "Hi {buyer_name}, {product} ships from {product_ships_from}, "
            "{product_dispatch_time} after payment. You get the tracking number as soon "
            "as it leaves.",
            "ru": "Здравствуйте, {buyer_name}! {product} отправляется из "
            "{product_ships_from}, срок отправки после оплаты: {product_dispatch_time}. "
            "Трек-номер придет сразу после отправки.",
            "es": "Hola, {buyer_name}, {product} se envía desde {product_ships_from}, "
            "{product_dispatch_time} después del pago. Recibirás el número de "
            "seguimiento en cuanto salga.",
            "zh-hans": "亲，{product}从{product_ships_from}发货，付款后{product_dispatch_time}发出，"
            "发出后马上能看到运单号。",
        },
    },
    {
        "key": "product-differences",
        "stage": "pre_sale",
        "topic": "product_facts",
        "title": "How the product differs from similar ones",
        "order_states": [],
        "examples": {
            "en": [
                "what is the difference between these two",
                "why is it more expensive than others",
                "how is it better than the cheaper one",
            ],
            "ru": [
                "в чем разница между этими двумя",
                "почему дороже других",
                "чем лучше дешевого варианта",
            ],
            "es": [
                "qué diferencia hay entre estos dos",
                "por qué es más caro que otros",
                "en qué es mejor que el más barato",
            ],
            "zh-hans": ["这两款有什么区别", "为什么比别家贵", "和便宜的那款比好在哪"],
        },
        "bodies": {
            "en": "Good question, {buyer_name}! What sets {product} apart: "
            "{product_differences}. Happy to compare it with the one you are looking at.",
            "ru": "Хороший вопрос, {buyer_name}! Чем отличается {product}: "
            "{product_differences}. С радостью сравню его с тем, что вы смотрите.",
            "es": "¡Buena pregunta, {buyer_name}! Lo que distingue a {product}: "
            "{product_differences}. Con gusto lo comparo con el que estás mirando.",
            "zh-hans": "亲，问得好！{product}的不同之处：{product_differences}。"
            "您在看的另一款发给我，我帮您对比一下。",
        },
    },
    # ---------------------------------------------------------------- in-sale 售中
    {
        "key": "out-of-stock",
        "stage": "in_sale",
        "topic": "out_of_stock",
        "title": "Item out of stock after the order",
        "order_states": ["oversold"],
        "examples": {
            "en": [
                "why is my item out of stock",
                "you sold out after I paid",
                "you cancelled because no stock",
            ],
            "ru": [
                "почему товара нет в наличии",
                "товар закончился после оплаты",
                "отменили из-за отсутствия товара",
            ],
            "es": [
                "por qué no hay stock",
                "se agotó después de pagar",
                "cancelaron por falta de stock",
            ],
            "zh-hans": ["为什么缺货了", "付款后说没货", "没库存了怎么办"],
        },
        "bodies": {
            "en": "Dear {buyer_name}, I'm very sorry: {product} from order {order_id} sold "
            "out faster than our stock count updated. You can choose: a similar item in "
            "another colour shipped today with a small gift, or a full refund right "
            "away. Which do you prefer?",
            "ru": "Уважаемый(ая) {buyer_name}, очень извиняемся: товар {product} из заказа "
            "{order_id} закончился быстрее, чем обновился остаток. Выберите, пожалуйста: "
            "похожий товар другого цвета с подарком и отправкой сегодня или полный "
            "возврат средств сразу.",
            "es": "Estimado/a {buyer_name}, lo siento mucho: {product} del pedido {order_id} "
            "se agotó antes de que se actualizara el stock. Puedes elegir: un artículo "
            "similar en otro color enviado hoy con un regalo, o el reembolso completo "
            "inmediato. ¿Qué prefieres?",
            "zh-hans": "亲，非常抱歉，订单{order_id}中的{product}库存更新不及时，已经卖完了。"
            "您可以选择：换其他颜色的相似款今天发出并附赠小礼物，或者马上全额退款，您看哪种更合适？",
        },
    },
    {
        "key": "late-shipment",
        "stage": "in_sale",
        "topic": "failed_to_ship_on_time",
        "title": "Late shipment apology with an offer",
        "order_states": ["shipped_late", "awaiting_shipment"],
        "examples": {
            "en": [
                "why has my order not shipped yet",
                "you said you would ship in two days",
                "still not sent",
            ],
            "ru": [
                "почему заказ еще не отправлен",
                "обещали отправить за два дня",
                "до сих пор не отправили",
            ],
            "es": [
                "por qué mi pedido aún no se ha enviado",
                "dijeron que enviarían en dos días",
                "todavía no lo han mandado",
            ],
            "zh-hans": ["怎么还没发货", "说好两天发货的", "到现在还没寄出"],
        },
        "bodies": {
            "en": "Dear {buyer_name}, please accept our apology: order {order_id} left later "
            "than promised because our packing line was held up by a quality re-check, "
            "not by a lack of stock. It is now on its way with {carrier}, tracking "
            "{tracking_numbers}. As a thank-you for your patience, we have added a "
            "coupon for your next order.",
            "ru": "Уважаемый(ая) {buyer_name}, приносим извинения: заказ {order_id} ушел "
            "позже обещанного, потому что упаковка задержалась из-за повторной проверки "
            "качества, а не из-за нехватки товара. Теперь он в пути, служба {carrier}, "
            "трек {tracking_numbers}. В благодарность за терпение дарим купон на "
            "следующий заказ.",
            "es": "Estimado/a {buyer_name}, te pedimos disculpas: el pedido {order_id} salió "
            "más tarde de lo prometido porque el embalaje se retrasó por una revisión de "
            "calidad, no por falta de stock. Ya va en camino con {carrier}, seguimiento "
            "{tracking_numbers}. Para agradecer tu paciencia, te regalamos un cupón para "
            "tu próximo pedido.",
            "zh-hans": "亲，非常抱歉，订单{order_id}比承诺的晚发了，原因是打包前做了一次质量复检，"
            "并不是缺货。现在已经由{carrier}发出，运单号{tracking_numbers}。"
            "为感谢您的耐心，我们送您一张下次可用的优惠券。",
        },
    },
    {
        "key": "promotion-rush",
        "stage": "in_sale",
        "topic": "urging_shipment",
        "title": "Buyer urges shipment during a big promotion",
        "order_states": ["awaiting_shipment"],
        "examples": {
            "en": [
                "please ship my order faster",
                "when will you send it",
                "hurry up please",
                "why so slow to ship",
            ],
            "ru": [
                "отправьте побыстрее",
                "когда отправите",
                "поторопитесь пожалуйста",
                "почему так долго не отправляете",
            ],
            "es": [
                "envíen mi pedido más rápido",
                "cuándo lo van a enviar",
                "dense prisa por favor",
                "por qué tardan tanto en enviar",
            ],
            "zh-hans": ["快点发货", "什么时候发货", "催一下发货", "怎么发货这么慢"],
        },
        "bodies": {
            "en": "Hi {buyer_name}, thank you so much for shopping with us during the sale, "
            "and sorry for the wait! Orders have multiplied this week and our warehouse "
            "team is working overtime every day to pack them in order of payment. Your "
            "order {order_id} is in the queue and will go out as soon as possible. "
            "Thank you for your patience!",
            "ru": "Здравствуйте, {buyer_name}! Большое спасибо за покупку во время "
            "распродажи и простите за ожидание. Заказов на этой неделе в разы больше, "
            "склад работает сверхурочно каждый день и отправляет их по очереди оплаты. "
            "Ваш заказ {order_id} в очереди и уйдет как можно скорее. Спасибо за "
            "терпение!",
            "es": "Hola, {buyer_name}, ¡muchas gracias por comprar durante las rebajas y "
            "perdona la espera! Esta semana los pedidos se han multiplicado y el almacén "
            "hace horas extra cada día para prepararlos por orden de pago. Tu pedido "
            "{order_id} está en la cola y saldrá lo antes posible. ¡Gracias por tu "
            "paciencia!",
            "zh-hans": "亲，感谢您在大促期间支持我们，让您久等了！这几天订单量暴增，仓库同事每天都在加班，"
            "按付款顺序打包发货。您的订单{order_id}已经在排队中，会尽快为您发出，请您耐心等待，谢谢理解！",
        },
    },
    {
        "key": "logistics-inquiry",
        "stage": "in_sale",
        "topic": "logistics_inquiry",
        "title": "Where is my parcel / tracking not updated",
        "order_states": ["in_transit", "info_received", "stalled"],
        "examples": {
            "en": [
                "where is my parcel",
                "tracking has not updated for days",
                "my package is not moving",
                "parcel not received",
            ],
            "ru": [
                "где моя посылка",
                "трек не обновляется несколько дней",
                "посылка не двигается",
                "не получил посылку",
            ],
            "es": [
                "dónde está mi paquete",
                "el seguimiento no se actualiza",
                "mi paquete no se mueve",
                "no he recibido el paquete",
            ],
            "zh-hans": ["我的包裹到哪了", "物流好几天没更新", "包裹一直不动", "还没收到货"],
        },
        "bodies": {
            "en": "Hi {buyer_name}, I checked order {order_id} for you: it travels with "
            "{carrier}, tracking {tracking_numbers}, and you can follow it at "
            "{tracking_url}. International parcels often show no update for a week "
            "while they fly between countries; that is normal. I will keep watching it "
            "and write to you if anything changes.",
            "ru": "Здравствуйте, {buyer_name}! Я проверил(а) заказ {order_id}: он едет со "
            "службой {carrier}, трек {tracking_numbers}, отслеживать можно на "
            "{tracking_url}. Во время перелета между странами статус часто не "
            "обновляется около недели, это нормально. Я буду следить за посылкой и "
            "напишу, если что-то изменится.",
            "es": "Hola, {buyer_name}, he revisado el pedido {order_id}: viaja con {carrier}, "
            "seguimiento {tracking_numbers}, y puedes consultarlo en {tracking_url}. Es "
            "normal que un envío internacional no se actualice durante una semana "
            "mientras viaja entre países. Lo seguiré vigilando y te escribiré si cambia "
            "algo.",
            "zh-hans": "亲，帮您查了订单{order_id}：由{carrier}承运，运单号{tracking_numbers}，"
            "可以在{tracking_url}查询。国际包裹在转运途中一周左右不更新是正常的，"
            "我会持续帮您关注，有变化第一时间告诉您。",
        },
    },
    {
        "key": "customs-clearance",
        "stage": "in_sale",
        "topic": "customs_clearance",
        "title": "Parcel held in customs clearance",
        "order_states": ["at_customs"],
        "examples": {
            "en": [
                "my parcel is stuck in customs",
                "customs clearance is taking long",
                "tracking says held by customs",
            ],
            "ru": [
                "посылка застряла на таможне",
                "долго проходит таможню",
                "статус задержано таможней",
            ],
            "es": [
                "mi paquete está retenido en aduana",
                "el despacho de aduana tarda mucho",
                "dice retenido en aduanas",
            ],
            "zh-hans": ["包裹卡在海关了", "清关好慢", "显示海关扣留"],
        },
        "bodies": {
            "en": "Hi {buyer_name}, your parcel {tracking_numbers} is going through customs "
            "in your country. This step usually takes 3-10 days and we cannot speed it "
            "up from here. If customs contacts you for a document, tell me and I will "
            "send you what you need straight away.",
            "ru": "Здравствуйте, {buyer_name}! Ваша посылка {tracking_numbers} проходит "
            "таможенное оформление в вашей стране. Обычно это занимает 3–10 дней, "
            "ускорить этот этап мы не можем. Если таможня запросит документы, "
            "напишите мне, и я сразу пришлю все необходимое.",
            "es": "Hola, {buyer_name}, tu paquete {tracking_numbers} está pasando la aduana "
            "de tu país. Este paso suele tardar de 3 a 10 días y no podemos acelerarlo "
            "desde aquí. Si la aduana te pide algún documento, dímelo y te lo envío "
            "enseguida.",
            "zh-hans": "亲，您的包裹{tracking_numbers}正在目的国清关，一般需要3-10天，"
            "这个环节我们这边没法加速。如果海关需要您提供资料，告诉我，我马上发给您。",
        },
    },
    {
        "key": "promised-delivery",
        "stage": "in_sale",
        "topic": "promised_delivery_time",
        "title": "Promised delivery time is near",
        "order_states": ["in_transit"],
        "examples": {
            "en": [
                "the delivery date has almost passed",
                "protection time is ending",
                "it should have arrived by now",
            ],
            "ru": [
                "срок доставки почти истек",
                "заканчивается защита покупателя",
                "уже должно было прийти",
            ],
            "es": [
                "ya casi pasó la fecha de entrega",
                "se acaba la protección del comprador",
                "ya debería haber llegado",
            ],
            "zh-hans": ["快超过承诺时效了", "买家保护期快到了", "早该到了吧"],
        },
        "bodies": {
            "en": "Hi {buyer_name}, thank you for checking in. Your parcel is expected around "
            "{arrival_date}. If it has not arrived by then, I will extend your buyer "
            "protection so you stay covered, and we will find a solution together.",
            "ru": "Здравствуйте, {buyer_name}! Спасибо, что написали. Посылка ожидается "
            "примерно {arrival_date}. Если к этой дате она не придет, я продлю защиту "
            "покупателя, чтобы вы оставались под защитой, и мы вместе найдем решение.",
            "es": "Hola, {buyer_name}, gracias por escribir. Tu paquete debería llegar "
            "alrededor del {arrival_date}. Si para entonces no ha llegado, ampliaré tu "
            "protección del comprador para que sigas cubierto y buscaremos una solución "
            "juntos.",
            "zh-hans": "亲，您的包裹预计{arrival_date}左右到达。如果到时还没收到，"
            "我会帮您延长买家保护期，我们一起想办法解决，您放心。",
        },
    },
    {
        "key": "failed-delivery",
        "stage": "in_sale",
        "topic": "failed_delivery",
        "title": "Delivery attempt failed",
        "order_states": ["delivery_failed"],
        "examples": {
            "en": ["delivery failed", "courier could not deliver", "tracking says address problem"],
            "ru": ["доставка не удалась", "курьер не смог доставить", "проблема с адресом"],
            "es": [
                "entrega fallida",
                "el mensajero no pudo entregar",
                "dice problema con la dirección",
            ],
            "zh-hans": ["派送失败", "快递员没送到", "显示地址有问题"],
        },
        "bodies": {
            "en": "Hi {buyer_name}, {carrier} reports that they could not deliver parcel "
            "{tracking_numbers}. Please contact them with this number to arrange a new "
            "delivery, or check the address on your order from the account that paid "
            "for it. I'm here if you need help talking to them.",
            "ru": "Здравствуйте, {buyer_name}! {carrier} сообщает, что не смог доставить "
            "посылку {tracking_numbers}. Свяжитесь с ними по этому номеру, чтобы "
            "назначить повторную доставку, или проверьте адрес в заказе с аккаунта, "
            "с которого он оплачен. Если нужна помощь, я на связи.",
            "es": "Hola, {buyer_name}, {carrier} indica que no pudo entregar el paquete "
            "{tracking_numbers}. Contacta con ellos con este número para acordar una "
            "nueva entrega, o revisa la dirección del pedido desde la cuenta que lo "
            "pagó. Si necesitas ayuda, aquí estoy.",
            "zh-hans": "亲，{carrier}显示包裹{tracking_numbers}派送未成功。请凭这个运单号联系快递预约再次派送，"
            "或者用付款的账号核对一下订单地址。需要帮忙的话随时找我。",
        },
    },
    {
        "key": "post-office-pickup",
        "stage": "in_sale",
        "topic": "post_office_pickup",
        "title": "Parcel waiting at the local post office",
        "order_states": ["available_for_pickup"],
        "examples": {
            "en": [
                "tracking says ready for pickup",
                "parcel is at the post office",
                "where do I collect my package",
            ],
            "ru": [
                "посылка ждет в почтовом отделении",
                "статус готово к выдаче",
                "где забрать посылку",
            ],
            "es": [
                "dice listo para recoger",
                "el paquete está en correos",
                "dónde recojo mi paquete",
            ],
            "zh-hans": ["显示到邮局了", "包裹可以自提了", "去哪里取件"],
        },
        "bodies": {
            "en": "Good news, {buyer_name}! Your parcel has been waiting at your local post "
            "office since {arrival_date}. Please collect it soon, before it is returned. "
            "Tracking number: {tracking_numbers}; you can check it at {tracking_url}.",
            "ru": "Хорошие новости, {buyer_name}! Ваша посылка ждет в вашем почтовом "
            "отделении с {arrival_date}. Пожалуйста, заберите ее поскорее, пока ее не "
            "отправили обратно. Трек-номер: {tracking_numbers}, проверить можно на "
            "{tracking_url}.",
            "es": "¡Buenas noticias, {buyer_name}! Tu paquete te espera en tu oficina de "
            "correos desde el {arrival_date}. Recógelo pronto, antes de que lo "
            "devuelvan. Número de seguimiento: {tracking_numbers}; puedes consultarlo en "
            "{tracking_url}.",
            "zh-hans": "亲，好消息！您的包裹{arrival_date}起已经到达当地邮局，请尽快去领取，以免被退回。"
            "运单号：{tracking_numbers}，可在{tracking_url}查询。",
        },
    },
    {
        "key": "split-parcels",
        "stage": "in_sale",
        "topic": "split_parcels",
        "title": "Order shipped in several parcels",
        "order_states": ["split_parcels"],
        "examples": {
            "en": [
                "I only received part of my order",
                "why are there several tracking numbers",
                "one parcel is missing from my order",
            ],
            "ru": [
                "получил только часть заказа",
                "почему несколько трек-номеров",
                "не хватает одной посылки",
            ],
            "es": [
                "solo recibí parte de mi pedido",
                "por qué hay varios números de seguimiento",
                "falta un paquete de mi pedido",
            ],
            "zh-hans": ["只收到一部分", "为什么有好几个运单号", "少了一个包裹"],
        },
        "bodies": {
            "en": "Hi {buyer_name}, I'm sorry we did not tell you earlier: because of its "
            "size and weight, order {order_id} was split into several parcels. Here "
            "are all the tracking numbers: {tracking_numbers}. They may arrive on "
            "different days; the rest is on its way.",
            "ru": "Здравствуйте, {buyer_name}! Простите, что не предупредили заранее: из-за "
            "размера и веса заказ {order_id} разделили на несколько посылок. Вот все "
            "трек-номера: {tracking_numbers}. Они могут прийти в разные дни, остальное "
            "уже в пути.",
            "es": "Hola, {buyer_name}, perdona que no te avisáramos antes: por su tamaño y "
            "peso, el pedido {order_id} se dividió en varios paquetes. Estos son todos "
            "los números de seguimiento: {tracking_numbers}. Pueden llegar en días "
            "distintos; el resto ya está en camino.",
            "zh-hans": "亲，抱歉没有提前告诉您：因为尺寸和重量的原因，订单{order_id}分成了几个包裹寄出。"
            "全部运单号如下：{tracking_numbers}。包裹可能会分不同日子到达，其余的都在路上了。",
        },
    },
    {
        "key": "checking-hold",
        "stage": "in_sale",
        "topic": "holding_reply",
        "title": "We are checking for you (holding reply)",
        "order_states": [],
        "examples": {
            "en": ["can you check for me", "please look into it", "any news"],
            "ru": ["можете проверить", "разберитесь пожалуйста", "есть новости"],
            "es": ["me lo puedes revisar", "por favor mira qué pasa", "hay novedades"],
            "zh-hans": ["帮我查一下", "麻烦看看怎么回事", "有消息了吗"],
        },
        "bodies": {
            "en": "Thank you, {buyer_name}. I'm checking this with our warehouse right now "
            "and will come back to you within the hour. — {agent_name}",
            "ru": "Спасибо, {buyer_name}! Я уже уточняю это на складе и вернусь к вам с "
            "ответом в течение часа. — {agent_name}",
            "es": "Gracias, {buyer_name}. Lo estoy consultando ahora mismo con el almacén y "
            "te respondo en menos de una hora. — {agent_name}",
            "zh-hans": "好的亲，我这就和仓库核实，一小时内给您回复。——{agent_name}",
        },
    },
    # ---------------------------------------------------------------- after-sale 售后
    {
        "key": "how-to-use",
        "stage": "after_sale",
        "topic": "how_to_use",
        "title": "How to use the product",
        "order_states": ["delivered"],
        "examples": {
            "en": [
                "how do I use it",
                "how to install",
                "it does not turn on",
                "where is the manual",
            ],
            "ru": ["как пользоваться", "как установить", "не включается", "где инструкция"],
            "es": ["cómo se usa", "cómo se instala", "no enciende", "dónde está el manual"],
            "zh-hans": ["怎么用", "怎么安装", "开不了机", "说明书在哪"],
        },
        "bodies": {
            "en": "Hi {buyer_name}, happy to help with {product}! First charge it fully, then "
            "hold the power button for three seconds. I can also send a short video "
            "that shows every step. Would that help?",
            "ru": "Здравствуйте, {buyer_name}! С радостью помогу с {product}. Сначала "
            "полностью зарядите устройство, затем удерживайте кнопку питания три "
            "секунды. Могу прислать короткое видео со всеми шагами. Прислать?",
            "es": "Hola, {buyer_name}, ¡te ayudo con {product}! Primero cárgalo por completo "
            "y luego mantén pulsado el botón de encendido tres segundos. También puedo "
            "enviarte un vídeo corto con todos los pasos. ¿Te lo mando?",
            "zh-hans": "亲，{product}的使用方法是：先充满电，再长按电源键三秒开机。"
            "我还可以发一个简短的操作视频给您，需要吗？",
        },
    },
    {
        "key": "product-defect",
        "stage": "after_sale",
        "topic": "product_defects",
        "title": "Product does not work properly",
        "order_states": ["delivered"],
        "examples": {
            "en": [
                "the product is defective",
                "it stopped working",
                "it is broken",
                "quality problem",
            ],
            "ru": ["товар бракованный", "перестал работать", "сломался", "проблема с качеством"],
            "es": [
                "el producto es defectuoso",
                "dejó de funcionar",
                "está roto",
                "problema de calidad",
            ],
            "zh-hans": ["质量有问题", "用了两天坏了", "不能用了", "是次品"],
        },
        "bodies": {
            "en": "Dear {buyer_name}, I'm sorry {product} is not working as it should. Could "
            "you send a short video or photos of the problem? Then I can offer you a "
            "free replacement or a refund, whichever you prefer.",
            "ru": "Уважаемый(ая) {buyer_name}, очень жаль, что {product} работает не так, как "
            "должен. Пришлите, пожалуйста, короткое видео или фото проблемы, и я "
            "предложу бесплатную замену или возврат денег на ваш выбор.",
            "es": "Estimado/a {buyer_name}, siento que {product} no funcione bien. ¿Puedes "
            "enviarme un vídeo corto o fotos del problema? Así te ofrezco un reemplazo "
            "gratis o el reembolso, lo que prefieras.",
            "zh-hans": "亲，很抱歉{product}出现了问题。麻烦您拍个小视频或照片给我看看，"
            "确认后可以免费给您换新或者退款，您选哪种都可以。",
        },
    },
    {
        "key": "not-as-expected",
        "stage": "after_sale",
        "topic": "not_as_expected",
        "title": "Not as described / not as expected",
        "order_states": ["delivered"],
        "examples": {
            "en": [
                "it looks different from the picture",
                "not as described",
                "the colour is different",
                "I don't like it",
            ],
            "ru": [
                "не похоже на фото",
                "не соответствует описанию",
                "цвет другой",
                "мне не понравилось",
            ],
            "es": [
                "no se parece a la foto",
                "no es como se describe",
                "el color es distinto",
                "no me gusta",
            ],
            "zh-hans": ["和图片不一样", "跟描述不符", "颜色不对", "不喜欢"],
        },
        "bodies": {
            "en": "Hi {buyer_name}, thank you for telling us, and sorry it isn't what you "
            "expected. Screens can show colours a little differently. You can keep it "
            "with a partial refund, or return it for a full refund. Which option works "
            "for you?",
            "ru": "Здравствуйте, {buyer_name}! Спасибо, что сообщили, и простите, что товар "
            "не оправдал ожиданий. Экраны могут немного искажать цвета. Вы можете "
            "оставить товар с частичным возвратом денег или вернуть его с полным "
            "возвратом. Какой вариант вам удобнее?",
            "es": "Hola, {buyer_name}, gracias por contárnoslo y perdona que no sea lo que "
            "esperabas. Las pantallas pueden mostrar los colores algo distintos. Puedes "
            "quedártelo con un reembolso parcial o devolverlo con reembolso completo. "
            "¿Qué opción prefieres?",
            "zh-hans": "亲，谢谢您的反馈，没让您满意真的很抱歉。屏幕显示可能会有些色差。"
            "您可以选择保留商品并部分退款，或者退货全额退款，您看哪种合适？",
        },
    },
    {
        "key": "import-duty-complaint",
        "stage": "after_sale",
        "topic": "duty_paid_afterwards",
        "title": "Buyer had to pay import duty",
        "order_states": ["delivered", "at_customs"],
        "examples": {
            "en": [
                "I had to pay customs tax",
                "why did I pay import duty",
                "you should refund the tax I paid",
            ],
            "ru": [
                "пришлось заплатить пошлину",
                "почему я заплатил таможенный налог",
                "верните налог который я заплатил",
            ],
            "es": [
                "tuve que pagar aduana",
                "por qué pagué impuestos de importación",
                "devuélvanme los impuestos que pagué",
            ],
            "zh-hans": ["被收了关税", "为什么要我交税", "关税你们给报销吗"],
        },
        "bodies": {
            "en": "Dear {buyer_name}, I understand how annoying an unexpected charge is. "
            "Your order of {product} in {order_month} left us with export clearance "
            "fully paid by us. Customs in every country may inspect any parcel whatever "
            "its declared value, and the local import duty is set by them and paid by "
            "the receiver. As a thank-you for your understanding, I would like to offer "
            "you a discount on your next purchase.",
            "ru": "Уважаемый(ая) {buyer_name}, понимаю, как неприятен неожиданный платеж. "
            "Ваш заказ {product}, оформленный в {order_month}, мы отправили с полностью "
            "оплаченным нами экспортным оформлением. Таможня любой страны может "
            "проверить любую посылку независимо от заявленной стоимости, а ввозную "
            "пошлину устанавливает она сама, и оплачивает ее получатель. В знак "
            "благодарности за понимание предлагаю вам скидку на следующую покупку.",
            "es": "Estimado/a {buyer_name}, entiendo lo molesto que es un cargo inesperado. "
            "Tu pedido de {product} de {order_month} salió con el despacho de exportación "
            "pagado por nosotros. La aduana de cualquier país puede inspeccionar "
            "cualquier paquete sea cual sea su valor declarado, y el arancel local lo fija "
            "ella y lo paga el destinatario. Para agradecer tu comprensión, te ofrezco un "
            "descuento en tu próxima compra.",
            "zh-hans": "亲，理解突然被收费的心情。您{order_month}购买的{product}，出口清关费用是我们全额承担的。"
            "各国海关都可能抽查任何包裹，与申报价值无关，进口关税由当地海关决定、由收件人缴纳。"
            "感谢您的理解，下次购买我们给您一个专属折扣。",
        },
    },
    {
        "key": "damaged-product",
        "stage": "after_sale",
        "topic": "damaged_product",
        "title": "Product arrived damaged",
        "order_states": ["delivered"],
        "examples": {
            "en": [
                "the item arrived damaged",
                "the box was crushed",
                "it came broken",
                "the glass is cracked",
            ],
            "ru": [
                "товар пришел поврежденным",
                "коробка смята",
                "пришло разбитым",
                "стекло треснуло",
            ],
            "es": [
                "el artículo llegó dañado",
                "la caja llegó aplastada",
                "llegó roto",
                "el cristal está agrietado",
            ],
            "zh-hans": ["收到的东西坏了", "箱子被压扁了", "到手就碎了", "玻璃裂了"],
        },
        "bodies": {
            "en": "Dear {buyer_name}, I'm truly sorry {product} reached you damaged. Every "
            "item is checked before it leaves us, so this most likely happened in "
            "transit. Could you send photos of the item and the outer box? We will "
            "use them to claim with {carrier} and sort this out for you quickly.",
            "ru": "Уважаемый(ая) {buyer_name}, очень сожалеем, что {product} пришел "
            "поврежденным. Каждый товар мы проверяем перед отправкой, так что, скорее "
            "всего, это случилось в дороге. Пришлите, пожалуйста, фото товара и внешней "
            "коробки: по ним мы подадим претензию в {carrier} и быстро все решим.",
            "es": "Estimado/a {buyer_name}, siento de verdad que {product} te llegara dañado. "
            "Revisamos cada artículo antes de enviarlo, así que lo más probable es que "
            "ocurriera en el transporte. ¿Puedes enviarme fotos del artículo y de la caja "
            "exterior? Con ellas reclamaremos a {carrier} y lo resolveremos rápido.",
            "zh-hans": "亲，非常抱歉{product}到手时有损坏。每件商品发货前我们都检查过，很可能是运输途中造成的。"
            "麻烦您拍一下商品和外箱的照片，我们会拿去向{carrier}索赔，尽快给您处理好。",
        },
    },
    {
        "key": "refund-timing",
        "stage": "after_sale",
        "topic": "refund_timing",
        "title": "When will my refund arrive",
        "order_states": ["refunded", "refund_pending"],
        "examples": {
            "en": [
                "when will I get my refund",
                "I have not received my money back",
                "refund not arrived",
            ],
            "ru": ["когда вернутся деньги", "деньги еще не пришли", "возврат не поступил"],
            "es": [
                "cuándo recibiré mi reembolso",
                "no me han devuelto el dinero",
                "el reembolso no ha llegado",
            ],
            "zh-hans": ["退款什么时候到账", "钱还没退回来", "退款没收到"],
        },
        "bodies": {
            "en": "Hi {buyer_name}, your refund for order {order_id} has been issued. Banks "
            "take {refund_days} business days to show it, depending on the bank. If "
            "nothing has arrived by then, please contact us and we will "
            "trace it. The platform's help centre explains refunds in English too.",
            "ru": "Здравствуйте, {buyer_name}! Возврат по заказу {order_id} оформлен. Банку "
            "нужно {refund_days} рабочих дней, чтобы деньги появились на счете, в "
            "зависимости от банка. Если за это время их нет, напишите нам, и "
            "мы все проверим. В справочном центре площадки есть объяснение на русском.",
            "es": "Hola, {buyer_name}, el reembolso del pedido {order_id} ya está emitido. "
            "Según el banco, tarda {refund_days} días hábiles en aparecer. Si pasado ese "
            "plazo no lo ves, escríbenos y lo rastrearemos. El centro de ayuda de "
            "la plataforma lo explica también en español.",
            "zh-hans": "亲，订单{order_id}的退款已经处理了，根据银行不同，需要{refund_days}个工作日到账。"
            "如果超过这个时间还没收到，请联系我们帮您追查，也可以查看平台帮助中心的退款说明。",
        },
    },
    {
        "key": "short-shipment",
        "stage": "after_sale",
        "topic": "short_shipment",
        "title": "Items missing from the parcel",
        "order_states": ["delivered"],
        "examples": {
            "en": [
                "some items are missing",
                "I ordered three but got two",
                "the parcel is incomplete",
            ],
            "ru": ["не хватает товаров", "заказал три а пришло два", "посылка неполная"],
            "es": ["faltan artículos", "pedí tres y llegaron dos", "el paquete está incompleto"],
            "zh-hans": ["少发了", "买了三个只收到两个", "包裹里东西不全"],
        },
        "bodies": {
            "en": "Dear {buyer_name}, sorry that something is missing from order {order_id}. "
            "Could you send a photo of everything in the parcel and of the label? Once "
            "I see it, I will ship the missing item right away or refund it, as you "
            "prefer.",
            "ru": "Уважаемый(ая) {buyer_name}, извините, что в заказе {order_id} чего-то не "
            "хватает. Пришлите, пожалуйста, фото всего содержимого посылки и этикетки. "
            "После проверки я сразу дошлю недостающее или верну за него деньги, как "
            "вам удобнее.",
            "es": "Estimado/a {buyer_name}, perdona que falte algo en el pedido {order_id}. "
            "¿Puedes enviarme una foto de todo lo que venía en el paquete y de la "
            "etiqueta? Cuando lo vea, te envío lo que falta enseguida o te lo reembolso, "
            "como prefieras.",
            "zh-hans": "亲，抱歉订单{order_id}少发了东西。麻烦拍一下包裹里所有物品和快递面单的照片，"
            "核实后马上给您补发，或者退还这部分的款项，您选哪种都行。",
        },
    },
    {
        "key": "wrong-item",
        "stage": "after_sale",
        "topic": "wrong_item",
        "title": "Wrong item sent",
        "order_states": ["delivered"],
        "examples": {
            "en": [
                "you sent the wrong item",
                "I received a different colour",
                "this is not what I ordered",
            ],
            "ru": ["прислали не тот товар", "пришел другой цвет", "это не то что я заказывал"],
            "es": [
                "me enviaron el artículo equivocado",
                "me llegó otro color",
                "esto no es lo que pedí",
            ],
            "zh-hans": ["发错货了", "颜色发错了", "收到的不是我买的"],
        },
        "bodies": {
            "en": "Dear {buyer_name}, that is our mistake and I apologise. Please send a "
            "photo of what you received; we will ship the right {product} at our cost "
            "today, and you may keep the other item, no need to send it back.",
            "ru": "Уважаемый(ая) {buyer_name}, это наша ошибка, приносим извинения. "
            "Пришлите, пожалуйста, фото полученного товара: мы сегодня же за свой счет "
            "отправим правильный {product}, а присланный по ошибке можете оставить "
            "себе, возвращать не нужно.",
            "es": "Estimado/a {buyer_name}, el error es nuestro y te pido disculpas. Envíame "
            "una foto de lo que recibiste; hoy mismo te enviamos el {product} correcto a "
            "nuestro cargo, y puedes quedarte el otro artículo, no hace falta devolverlo.",
            "zh-hans": "亲，是我们发错了，非常抱歉。麻烦拍一下收到的商品，我们今天就免费给您补发正确的{product}，"
            "发错的那件您留着就好，不用寄回。",
        },
    },
    {
        "key": "five-star-review",
        "stage": "after_sale",
        "topic": "review_request",
        "title": "Thank a happy buyer and ask for a review",
        "order_states": ["delivered"],
        "examples": {
            "en": [
                "I received it, thank you",
                "I love it",
                "everything is fine, thanks",
                "great quality",
            ],
            "ru": ["получил спасибо", "очень нравится", "все хорошо спасибо", "отличное качество"],
            "es": ["lo recibí, gracias", "me encanta", "todo bien, gracias", "muy buena calidad"],
            "zh-hans": ["收到了谢谢", "很喜欢", "东西很好", "质量不错"],
        },
        "bodies": {
            "en": "We are so glad you like {product}, {buyer_name}! If you have a minute, a "
            "five-star review with a photo would mean a lot to our small team. Thank "
            "you, and see you again soon! — {agent_name}",
            "ru": "Мы очень рады, что вам понравился {product}, {buyer_name}! Если найдется "
            "минутка, отзыв на пять звезд с фото очень поможет нашей небольшой команде. "
            "Спасибо и до новых встреч! — {agent_name}",
            "es": "¡Nos alegra mucho que te guste {product}, {buyer_name}! Si tienes un "
            "minuto, una reseña de cinco estrellas con foto significaría mucho para "
            "nuestro pequeño equipo. ¡Gracias y hasta pronto! — {agent_name}",
            "zh-hans": "亲，很高兴您喜欢{product}！方便的话给我们一个五星好评并附上照片，"
            "对我们小团队是很大的鼓励，谢谢您，期待再次光临！——{agent_name}",
        },
    },
]
