"""The hand-written zh/en lexicons behind the default feedback analysis.

Everything here is data, written by hand from general knowledge of how
customers of food, fresh-produce and retail businesses write, and never
learnt from a corpus, so every decision can be read back to a line below.

- :data:`CATEGORY_TERMS`: category -> language -> keywords.  The first
  category is the most specific; order breaks ties.
- :data:`SENTIMENT_TERMS`: language -> term -> polarity (+1 positive,
  -1 negative, +-2 strong).  A term may also be a category keyword
  ("慢" is both delivery speed and negative).
- :data:`NEGATORS`, :data:`DEGREE`: words that flip or scale the next
  sentiment term of the same clause.  A word that is both a degree word and
  a sentiment term ("好") is a degree word right before a sentiment term
  ("好贵" is "very expensive") and a sentiment term otherwise.
- :data:`CONTRAST`: "but"-words; the clause after one weighs
  :data:`CONTRAST_WEIGHT` times more.  :data:`CONCESSIVE`: "although"-words;
  their own clause weighs :data:`CONCESSIVE_WEIGHT`.
- :data:`BLOCKERS`: words that contain a negator or a sentiment character
  but mean neither ("不仅", "不过" is a contrast, "快递" a noun); matching
  the longest term first lets them shield their characters.

English terms are matched on whole words after lower-casing and turning
``n't`` into ``not``; Chinese terms are matched on characters, longest first.
"""

from __future__ import annotations

#: the fallback category when no keyword matches; reserved
OTHER = "other"

# the lexicons are data: many short terms per line read better than one per line
# fmt: off
CATEGORY_TERMS: dict[str, dict[str, list[str]]] = {
    "freshness": {
        "zh": [
            "新鲜", "不新鲜", "鲜", "烂", "腐烂", "烂了", "蔫", "发蔫", "枯", "发黄", "发霉", "霉",
            "长毛", "臭", "发臭", "馊", "酸了", "坏果", "熟透", "生的", "冰冻", "解冻", "冷冻",
            "保鲜", "水分", "脱水", "干瘪", "现做", "现炒", "隔夜", "剩菜", "凉了", "冷了",
        ],
        "en": [
            "fresh", "freshness", "stale", "rotten", "rotting", "mouldy", "moldy", "mould", "mold",
            "wilted", "withered", "spoiled", "spoilt", "ripe", "overripe", "unripe", "bruised",
            "soggy", "frozen", "thawed", "cold", "leftover",
        ],
    },
    "product_quality": {
        "zh": [
            "质量", "品质", "做工", "材质", "坏了", "变质", "过期", "保质期", "次品", "假货",
            "正品", "瑕疵", "故障", "异物", "头发", "虫", "味道", "口感", "口味", "好吃", "难吃",
            "分量", "份量", "量少", "量足", "量大", "咸", "淡", "油腻", "辣", "甜", "硬", "软",
            "货不对板", "与描述不符", "效果", "耐用", "用料", "食材", "卫生", "拉肚子",
        ],
        "en": [
            "quality", "broken", "defective", "defect", "faulty", "expired", "expiry",
            "damaged product", "fake", "counterfeit", "genuine", "taste", "tastes", "tasty",
            "flavour", "flavor", "delicious", "bland", "salty", "greasy", "portion", "portions",
            "durable", "material", "works", "stopped working", "not as described", "hair", "bug",
            "insect", "food poisoning", "hygiene",
        ],
    },
    "service_attitude": {
        "zh": [
            "态度", "服务", "客服", "售后", "店家", "老板", "商家", "服务员", "前台", "热情",
            "耐心", "礼貌", "不耐烦", "冷漠", "敷衍", "骂", "凶", "退款", "退货", "换货", "投诉",
            "回复", "不理", "没人理", "沟通", "道歉", "赔偿", "小哥",
        ],
        "en": [
            "attitude", "service", "customer service", "staff", "support", "rude", "polite",
            "friendly", "unfriendly", "helpful", "unhelpful", "ignored", "refund", "return",
            "replacement", "complaint", "respond", "responded", "reply", "replied", "apology",
            "apologised", "apologized", "manager", "seller", "courteous",
        ],
    },
    "delivery_speed": {
        "zh": [
            "送货", "配送", "送餐", "送达", "送到", "到货", "发货", "物流", "快递", "骑手",
            "送餐员", "外卖员", "迟到", "延迟", "超时", "晚到", "准时", "按时", "及时", "等了",
            "小时", "分钟", "慢", "快", "神速", "送错", "漏送", "没送到", "迟迟",
        ],
        "en": [
            "delivery", "delivered", "deliver", "shipping", "shipped", "courier", "driver",
            "arrived", "arrive", "late", "delay", "delayed", "on time", "slow", "fast", "quick",
            "quickly", "hours", "minutes", "waited", "wait", "never arrived", "wrong address",
            "tracking",
        ],
    },
    "price": {
        "zh": [
            "价格", "价钱", "贵", "便宜", "实惠", "划算", "性价比", "优惠", "折扣", "打折", "降价",
            "涨价", "多收", "收费", "运费", "配送费", "不值", "值得", "物美价廉", "坑", "宰",
        ],
        "en": [
            "price", "prices", "priced", "expensive", "cheap", "cheaper", "overpriced",
            "affordable", "value", "value for money", "worth", "discount", "coupon", "charged",
            "overcharged", "fee", "fees", "cost", "costs", "rip off", "ripoff", "bargain",
        ],
    },
    "packaging": {
        "zh": [
            "包装", "破损", "漏", "漏了", "洒", "洒了", "撒了", "压坏", "压扁", "盒子", "餐盒",
            "袋子", "封口", "密封", "简陋", "泡沫", "冰袋", "保温", "挤压", "碎了",
        ],
        "en": [
            "packaging", "package", "packaged", "packed", "box", "bag", "leaked", "leaking", "leak",
            "spilled", "spilt", "crushed", "squashed", "seal", "sealed", "torn", "wrapping",
            "ice pack", "container",
        ],
    },
}

SENTIMENT_TERMS: dict[str, dict[str, float]] = {
    "zh": {
        # positive
        "好": 1, "不错": 1, "挺好": 1, "满意": 1, "喜欢": 1, "好吃": 1, "美味": 1, "香": 1,
        "新鲜": 1, "鲜": 0.5, "快": 1, "神速": 2, "准时": 1, "按时": 1, "及时": 1, "便宜": 1,
        "实惠": 1, "划算": 1, "值得": 1, "物美价廉": 2, "热情": 1, "耐心": 1, "礼貌": 1, "周到": 1,
        "贴心": 1, "赞": 1.5, "棒": 1.5, "完美": 2, "推荐": 1, "给力": 1.5, "舒服": 1, "舒适": 1,
        "干净": 1, "方便": 1, "好评": 1.5, "五星": 1.5, "优秀": 1.5, "精致": 1, "正品": 1,
        "耐用": 1, "放心": 1, "愉快": 1, "开心": 1, "惊喜": 1.5, "超值": 1.5, "值": 1, "满分": 2,
        "一流": 1.5, "还行": 0.5, "可以": 0.5, "还可以": 0.5, "ok": 0.5, "感谢": 1, "谢谢": 1,
        "辛苦": 0.5, "足": 0.5, "量足": 1, "量大": 1, "好用": 1, "好看": 1, "漂亮": 1, "温馨": 1,
        "安静": 1, "宽敞": 1, "没得说": 1.5, "没话说": 1.5, "无可挑剔": 2, "再来": 1, "回购": 1,
        "还会": 1, "好喝": 1, "入味": 1, "地道": 1, "嫩": 1, "脆": 0.5, "热乎": 1, "现做": 0.5,
        "认真": 1, "鲜美": 1, "靠谱": 1,
        # negative
        "差": -1, "差劲": -2, "不好": -1, "糟糕": -2, "失望": -1.5, "难吃": -1.5, "难喝": -1.5,
        "垃圾": -2, "恶心": -2, "坑": -1.5, "宰": -1.5, "贵": -1, "不值": -1.5, "慢": -1,
        "迟到": -1, "延迟": -1, "超时": -1, "晚到": -1, "等了": -0.5, "迟迟": -1, "坏了": -1.5,
        "变质": -2, "过期": -2, "烂": -1.5, "腐烂": -2, "烂了": -1.5, "蔫": -1, "发蔫": -1,
        "发黄": -1, "发霉": -2, "霉": -1.5, "长毛": -2, "臭": -1.5, "发臭": -2, "馊": -2,
        "酸了": -1.5, "干瘪": -1, "隔夜": -1, "剩菜": -1, "凉了": -1, "冷了": -1, "破损": -1.5,
        "漏": -1, "漏了": -1.5, "洒": -1, "洒了": -1.5, "撒了": -1.5, "压坏": -1.5, "压扁": -1,
        "碎了": -1.5, "简陋": -1, "次品": -2, "假货": -2, "瑕疵": -1, "故障": -1.5, "异物": -2,
        "头发": -1.5, "虫": -1.5, "拉肚子": -2, "不耐烦": -1.5, "冷漠": -1.5, "敷衍": -1.5,
        "骂": -1.5, "凶": -1, "不理": -1.5, "没人理": -1.5, "投诉": -1, "退款": -0.5, "送错": -1.5,
        "漏送": -1.5, "没送到": -1.5, "货不对板": -2, "与描述不符": -2, "不新鲜": -1.5,
        "不怎么样": -1, "一般": -0.5, "太少": -1, "量少": -1, "少": -0.5, "咸": -0.5, "太咸": -1.5,
        "油腻": -1, "硬": -0.5, "脏": -1.5, "吵": -1, "旧": -0.5, "陈旧": -1, "问题": -1,
        "麻烦": -1, "后悔": -1.5, "上当": -1.5, "不行": -1, "没法": -1, "受不了": -1.5,
        "生气": -1.5, "无语": -1.5, "郁闷": -1, "差评": -1.5, "不满": -1.5, "不满意": -1.5,
        "再也不": -2, "别买": -2, "不推荐": -1.5, "不如": -1, "坑人": -2, "难受": -1, "不舒服": -1,
        "不卫生": -2, "没味": -1, "不熟": -1, "夹生": -1.5, "淡": -0.5, "不够": -0.5, "不足": -0.5,
        "白费": -1, "浪费": -1, "不靠谱": -1.5,
    },
    "en": {
        # positive
        "good": 1, "great": 1.5, "excellent": 2, "perfect": 2, "amazing": 2, "awesome": 2,
        "fantastic": 2, "wonderful": 2, "love": 1.5, "loved": 1.5, "liked": 1, "nice": 1,
        "happy": 1, "satisfied": 1, "pleased": 1, "recommend": 1, "recommended": 1, "fresh": 1,
        "tasty": 1, "delicious": 1.5, "fast": 1, "quick": 1, "quickly": 1, "on time": 1,
        "early": 0.5, "cheap": 0.5, "affordable": 1, "bargain": 1, "value for money": 1.5,
        "worth": 1, "friendly": 1, "polite": 1, "helpful": 1, "courteous": 1, "clean": 1,
        "best": 1.5, "fine": 0.5, "ok": 0.5, "okay": 0.5, "thanks": 1, "thank": 1, "genuine": 1,
        "durable": 1, "works": 0.5, "beautiful": 1, "comfortable": 1, "flawless": 2, "superb": 2,
        "brilliant": 2, "impressed": 1.5, "reliable": 1, "prompt": 1, "efficient": 1,
        # negative
        "bad": -1, "poor": -1, "terrible": -2, "awful": -2, "horrible": -2, "worst": -2,
        "disappointed": -1.5, "disappointing": -1.5, "hate": -1.5, "hated": -1.5, "unhappy": -1.5,
        "dissatisfied": -1.5, "stale": -1.5, "rotten": -2, "rotting": -2, "mouldy": -2, "moldy": -2,
        "wilted": -1, "withered": -1, "spoiled": -2, "spoilt": -2, "bruised": -1, "soggy": -1,
        "overripe": -1, "unripe": -0.5, "leftover": -0.5, "slow": -1, "late": -1, "delay": -1,
        "delayed": -1, "never arrived": -2, "expensive": -1, "overpriced": -1.5,
        "overcharged": -1.5, "rip off": -2, "ripoff": -2, "rude": -1.5, "unfriendly": -1.5,
        "unhelpful": -1.5, "ignored": -1.5, "broken": -1.5, "defective": -1.5, "defect": -1,
        "faulty": -1.5, "expired": -2, "fake": -2, "counterfeit": -2, "damaged": -1.5,
        "leaked": -1.5, "leaking": -1.5, "leak": -1, "spilled": -1.5, "spilt": -1.5,
        "crushed": -1.5, "squashed": -1, "torn": -1, "bland": -1, "salty": -0.5, "greasy": -1,
        "dirty": -1.5, "cold": -0.5, "problem": -1, "problems": -1, "issue": -1, "issues": -1,
        "wrong": -1, "missing": -1, "complaint": -1, "refund": -0.5, "stopped working": -1.5,
        "not as described": -2, "waste": -1.5, "useless": -1.5, "never again": -2, "annoyed": -1.5,
        "angry": -1.5, "hair": -1, "bug": -1, "insect": -1.5, "food poisoning": -2, "small": -0.5,
        "mediocre": -1, "unacceptable": -2, "fail": -1, "failed": -1,
    },
}

NEGATORS: dict[str, list[str]] = {
    "zh": [
        "不", "没", "没有", "无", "未", "别", "不是", "并不", "并非", "毫无", "无法", "从不",
        "从没", "不会",
    ],
    "en": [
        "not", "no", "never", "nothing", "none", "nor", "without", "hardly", "barely", "neither",
        "cannot",
    ],
}

DEGREE: dict[str, dict[str, float]] = {
    "zh": {
        "很": 1.5, "非常": 2, "特别": 2, "十分": 2, "超": 1.5, "超级": 2, "太": 2, "真": 1.5,
        "挺": 1.2, "蛮": 1.2, "相当": 1.5, "极": 2, "极其": 2, "最": 2, "好": 1.3, "比较": 1.1,
        "有点": 0.8, "有些": 0.8, "稍": 0.7, "稍微": 0.7, "略": 0.7, "一点": 0.8, "更": 1.3,
        "巨": 2, "贼": 1.5, "实在": 1.5, "真的": 1.5,
    },
    "en": {
        "very": 1.5, "really": 1.5, "so": 1.5, "too": 1.5, "extremely": 2, "super": 1.5,
        "incredibly": 2, "totally": 1.5, "absolutely": 2, "quite": 1.2, "pretty": 1.2,
        "rather": 1.1, "a bit": 0.8, "slightly": 0.7, "somewhat": 0.8, "a little": 0.8, "most": 1.5,
        "more": 1.2, "highly": 1.5,
    },
}
# fmt: on

#: a degree word right after a negator softens instead of amplifying ("不太好", "not very good")
NEGATED_DEGREE = 0.6

# fmt: off
CONTRAST: dict[str, list[str]] = {
    "zh": [
        "但是", "但", "不过", "可是", "然而", "只是", "却",
    ],
    "en": [
        "but", "however", "yet",
    ],
}
CONCESSIVE: dict[str, list[str]] = {
    "zh": [
        "虽然", "虽", "尽管", "虽说",
    ],
    "en": [
        "although", "though", "even though", "despite",
    ],
}
# fmt: on
CONTRAST_WEIGHT = 2.0
CONCESSIVE_WEIGHT = 0.5
#: a category keyword in a negative clause counts this much more: feedback is
#: read to find complaints, so "送货很快，菜不新鲜" is about freshness
NEGATIVE_ASPECT_WEIGHT = 2.0
#: |raw score| below this is neutral
NEUTRAL_BAND = 0.25

# fmt: off
BLOCKERS: dict[str, list[str]] = {
    "zh": [
        "不仅", "不但", "不论", "不管", "不断", "不久", "不同", "不然", "不用", "不必", "不得不",
        "没想到", "无论", "别人", "别的", "好像", "好多", "好几", "好久", "只好", "正好", "刚好",
        "快递", "尽快", "赶快", "快点", "加快", "快乐", "痛快", "凉快", "问题不大", "差不多",
        "差点", "一般来说", "没关系", "少量", "不少", "多少", "至少", "可以说", "好不好", "是不是",
        "能不能", "有没有", "会不会", "要不要", "好处", "爱好", "友好", "美好", "海鲜", "香菜",
        "香肠", "香港", "香蕉", "超市", "最后", "区别",
    ],
    "en": [
        "no one", "not only", "no matter", "like this", "as well", "pretty much", "so far",
    ],
}

#: a few blockers carry a polarity of their own
BLOCKER_POLARITY: dict[str, dict[str, float]] = {
    "zh": {
        "快乐": 1, "痛快": 1, "凉快": 1, "友好": 1, "美好": 1, "不少": 0.5, "问题不大": 0.5,
        "没关系": 0.5, "差点": -0.5,
    },
    "en": {},
}
# fmt: on

CATEGORY_NAMES_ZH: dict[str, str] = {
    "product_quality": "产品质量",
    "freshness": "新鲜度",
    "service_attitude": "服务态度",
    "delivery_speed": "配送速度",
    "price": "价格",
    "packaging": "包装",
    OTHER: "其他",
}
