"""A realistic demo data set: a Chinese FMCG distributor and its retail customers.

:func:`generate_demo` simulates two years of a 快消品经销商's business with
the quirks an analyst's export really has: Chinese column headers, the orders
file in GBK (as Excel writes it on a Chinese Windows), customer ids with
leading zeros, cancelled orders, return lines with negative quantities, a few
exact duplicate lines and walk-in sales with no customer.

The simulation, all in numpy arrays (no loop per customer or per line):

* customers across provinces, cities and districts, each with a channel
  (超市/便利店/食杂店/批发商/餐饮/电商) that sets its order rate, basket size,
  case quantities and weekday pattern (retail outlets restock for the weekend,
  B2B customers order on weekdays);
* heterogeneous order rates (gamma), a few very large wholesale customers;
* customers join over the period, stop buying with a constant hazard, and a
  few of those who stopped are won back;
* daily intensity with the weekly pattern and the Spring Festival: a build-up
  over the three weeks before the New Year (gift liquor, snacks and drinks in
  larger quantities), a dip during the holiday week;
* order times drawn per customer by inverting the cumulative daily intensity
  over the customer's active spells.
"""

from __future__ import annotations

import datetime as dt
import shlex
from pathlib import Path

import numpy as np
import pandas as pd

from kehu.exceptions import ConfigError
from kehu.writers import write_csv

#: Chinese New Year's day (春节, 正月初一) per year; the festival effect is only
#: simulated for the years listed here.
SPRING_FESTIVAL = {
    2019: dt.date(2019, 2, 5),
    2020: dt.date(2020, 1, 25),
    2021: dt.date(2021, 2, 12),
    2022: dt.date(2022, 2, 1),
    2023: dt.date(2023, 1, 22),
    2024: dt.date(2024, 2, 10),
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3),
}

CUSTOMER_HEADERS = (
    "客户编号",
    "客户名称",
    "联系电话",
    "省份",
    "城市",
    "区县",
    "城乡类型",
    "渠道",
    "性别",
    "年龄段",
    "业务员",
    "经销商",
    "注册日期",
)
PRODUCT_HEADERS = ("商品编码", "商品名称", "品类", "品牌", "单价", "规格")
ORDER_HEADERS = ("订单号", "客户编号", "下单时间", "商品编码", "数量", "单价", "金额", "订单状态")

CHANNELS = ("超市", "便利店", "食杂店", "批发商", "餐饮", "电商")
AREA_TYPES = ("城市", "郊区", "农村")
STATUS_DONE, STATUS_CANCELLED, STATUS_RETURNED = "已完成", "已取消", "退货"

# --- geography: province -> city -> districts ("*" outer district, "县"/"市" county level) ---
_GEOGRAPHY = {
    "浙江省": {
        "杭州市": "西湖区 拱墅区 上城区 余杭区* 萧山区* 临安区* 桐庐县 淳安县",
        "宁波市": "海曙区 鄞州区 北仑区* 慈溪市 余姚市 象山县",
        "温州市": "鹿城区 龙湾区* 瑞安市 乐清市 苍南县",
        "金华市": "婺城区 金东区* 义乌市 东阳市 浦江县",
    },
    "江苏省": {
        "南京市": "玄武区 鼓楼区 秦淮区 江宁区* 溧水区* 高淳区*",
        "苏州市": "姑苏区 吴中区* 相城区* 昆山市 常熟市",
        "徐州市": "云龙区 铜山区* 沛县 睢宁县 邳州市",
    },
    "上海市": {"上海市": "浦东新区 闵行区 徐汇区 静安区 松江区* 嘉定区* 崇明区*"},
    "山东省": {
        "济南市": "历下区 市中区 章丘区* 平阴县 商河县",
        "青岛市": "市南区 李沧区 黄岛区* 胶州市 平度市",
        "临沂市": "兰山区 河东区* 沂水县 郯城县 费县",
    },
    "广东省": {
        "广州市": "天河区 越秀区 海珠区 番禺区* 花都区* 从化区*",
        "深圳市": "福田区 南山区 罗湖区 宝安区* 龙岗区*",
        "佛山市": "禅城区 南海区* 顺德区* 高明区*",
        "湛江市": "赤坎区 霞山区 雷州市 徐闻县 遂溪县",
    },
    "广西壮族自治区": {
        "南宁市": "青秀区 西乡塘区 武鸣区* 横州市 宾阳县",
        "桂林市": "秀峰区 七星区 临桂区* 阳朔县 全州县",
    },
    "福建省": {
        "福州市": "鼓楼区 仓山区 长乐区* 闽侯县 福清市",
        "厦门市": "思明区 湖里区 集美区* 同安区* 翔安区*",
    },
    "四川省": {
        "成都市": "锦江区 武侯区 成华区 双流区* 郫都区* 金堂县 大邑县",
        "绵阳市": "涪城区 游仙区* 江油市 三台县 梓潼县",
        "南充市": "顺庆区 高坪区* 阆中市 营山县 仪陇县",
    },
    "重庆市": {"重庆市": "渝中区 江北区 南岸区 万州区* 涪陵区* 巫山县 奉节县"},
    "云南省": {
        "昆明市": "五华区 官渡区 呈贡区* 宜良县 石林彝族自治县",
        "大理白族自治州": "大理市 祥云县 宾川县 弥渡县",
    },
    "湖北省": {
        "武汉市": "江岸区 武昌区 洪山区 黄陂区* 新洲区*",
        "宜昌市": "西陵区 夷陵区* 当阳市 秭归县 远安县",
    },
    "河南省": {
        "郑州市": "金水区 二七区 管城回族区 新郑市 中牟县 登封市",
        "洛阳市": "西工区 涧西区 偃师区* 栾川县 嵩县",
    },
    "湖南省": {
        "长沙市": "岳麓区 芙蓉区 天心区 望城区* 浏阳市 宁乡市",
        "衡阳市": "蒸湘区 石鼓区 衡南县 衡东县 祁东县",
    },
    "北京市": {"北京市": "朝阳区 海淀区 丰台区 东城区 通州区* 昌平区* 密云区*"},
    "河北省": {
        "石家庄市": "长安区 桥西区 正定县 赞皇县 平山县",
        "保定市": "竞秀区 莲池区 涿州市 阜平县 易县",
    },
}

# --- products: category -> "brand name spec price" (price per sales unit, usually a case) ---
_CATALOGUE = {
    "饮料": """清源 饮用天然水 550ml×24瓶 28.00
清源 臻选天然矿泉水 330ml×24瓶 96.00
山茶 冰红茶 500ml×15瓶 45.00
山茶 茉莉绿茶 500ml×15瓶 45.00
鲜果园 橙汁饮料 450ml×15瓶 52.50
鲜果园 NFC鲜榨橙汁 300ml×12瓶 118.00
活力源 功能饮料 250ml×24罐 96.00
可乐星 可乐 330ml×24罐 52.00
可乐星 无糖可乐 330ml×24罐 54.00
元气泉 无糖气泡水 480ml×15瓶 67.50
豆本 植物蛋白饮料 250ml×24盒 72.00
凉茶王 凉茶 310ml×24罐 84.00""",
    "零食": """脆乐 薯片原味 70g×20袋 110.00
脆乐 薯片番茄味 70g×20袋 110.00
香坊 辣条 106g×40袋 96.00
果仓 每日坚果礼盒 750g×6盒 588.00
果仓 原味瓜子 260g×20袋 150.00
甜心 夹心饼干 200g×24盒 144.00
甜心 黄油曲奇礼盒 908g×6盒 420.00
卤味坊 香辣鸭脖 180g×20袋 260.00
软糖屋 水果软糖 100g×30袋 105.00
米香 米饼 150g×24袋 132.00""",
    "乳制品": """牧场鲜 纯牛奶 250ml×24盒 62.00
牧场鲜 有机纯牛奶 250ml×12盒 79.00
牧场鲜 风味酸奶 200g×24盒 78.00
草原情 纯牛奶 250ml×16盒 44.80
草原情 乳酸菌饮品 100ml×40瓶 60.00
安心牧 儿童成长奶 190ml×15盒 75.00
安心牧 低温鲜牛奶 950ml×6瓶 89.40
优乐 常温酸奶 205g×16盒 86.40
优乐 中老年奶粉 800g×6罐 588.00""",
    "粮油": """金穗 东北大米 10kg×1袋 69.90
金穗 五常稻花香米 5kg×4袋 356.00
福田 大豆油 5L×4桶 259.00
福田 压榨花生油 5L×4桶 599.00
福田 菜籽油 5L×4桶 299.00
麦香 中筋面粉 5kg×4袋 118.00
麦香 鸡蛋挂面 1kg×10包 89.00
五谷坊 黄小米 2.5kg×4袋 128.00
金穗 圆糯米 2.5kg×4袋 96.00""",
    "日化": """洁丽 洗洁精 1.5kg×12瓶 150.00
洁丽 洗衣液 3kg×4瓶 156.00
洁丽 洗衣粉 1.7kg×8袋 120.00
清风源 抽纸 130抽×48包 89.00
清风源 卷纸 10卷×6提 138.00
丝语 洗发水 750ml×6瓶 294.00
丝语 沐浴露 750ml×6瓶 234.00
净白 牙膏 180g×24支 276.00
净白 牙刷 4支装×12盒 192.00
花间 香皂 115g×48块 168.00""",
    "酒类": """老窖坊 52度浓香白酒礼盒 500ml×6瓶 1788.00
老窖坊 42度光瓶白酒 500ml×12瓶 216.00
金樽 53度酱香白酒 500ml×6瓶 2988.00
二锅香 二锅头 500ml×12瓶 144.00
雪峰 清爽啤酒 500ml×12罐 42.00
雪峰 精酿啤酒 500ml×12罐 108.00
麦田 纯生啤酒 500ml×12罐 66.00
黄河口 五年陈黄酒 500ml×12瓶 216.00
葡园 干红葡萄酒 750ml×6瓶 594.00
米乡 甜米酒 500g×12瓶 108.00""",
    "方便食品": """面大王 红烧牛肉面 104g×24袋 62.40
面大王 老坛酸菜牛肉面 118g×24袋 62.40
面大王 桶装牛肉面 120g×12桶 54.00
速享 自热米饭 270g×12盒 214.80
速享 自热火锅 400g×12盒 298.80
香脆 火腿肠 40g×60支 72.00
粉都 螺蛳粉 300g×24袋 264.00
早安 速冻水饺 1kg×10袋 220.00
早安 速冻汤圆 500g×20袋 190.00
粥当家 八宝粥 360g×24罐 86.40""",
    "调味品": """鲜味坊 生抽 500ml×24瓶 156.00
鲜味坊 老抽 500ml×24瓶 168.00
鲜味坊 特级头道生抽 500ml×12瓶 180.00
醋香 山西陈醋 500ml×24瓶 120.00
川味 郫县豆瓣酱 500g×20袋 150.00
川味 牛油火锅底料 400g×30袋 390.00
香满园 蚝油 700g×12瓶 132.00
白玉 加碘食盐 400g×50袋 100.00
香满园 鸡精 454g×20袋 240.00
辣妹 风味豆豉 280g×24瓶 216.00""",
}
_CATEGORIES = tuple(_CATALOGUE)
#: products above this unit price (per case) are the premium lines
_PREMIUM_PRICE = 300.0
# category affinity per channel (rows: CHANNELS, columns: _CATEGORIES)
_AFFINITY = np.array(
    [
        [1.0, 1.0, 1.0, 1.0, 1.0, 0.8, 1.0, 1.0],  # 超市
        [1.6, 1.4, 1.0, 0.2, 0.5, 0.6, 1.4, 0.2],  # 便利店
        [1.2, 1.2, 0.8, 0.8, 0.8, 1.0, 1.2, 0.8],  # 食杂店
        [1.2, 1.0, 1.0, 1.2, 1.0, 1.2, 1.0, 1.0],  # 批发商
        [1.0, 0.1, 0.3, 1.5, 0.4, 1.6, 0.2, 2.0],  # 餐饮
        [1.0, 1.5, 1.0, 0.6, 1.0, 0.8, 0.8, 0.5],  # 电商
    ]
)
# per channel: share of customers, orders per week, lines per order, cases per line
_CHANNEL_SHARE = np.array([0.12, 0.22, 0.33, 0.06, 0.17, 0.10])
_CHANNEL_RATE = np.array([0.40, 0.28, 0.18, 0.55, 0.25, 0.11])
_CHANNEL_LINES = np.array([4.5, 2.5, 2.0, 5.0, 1.8, 1.4])
_CHANNEL_CASES = np.array([5.0, 1.5, 1.2, 12.0, 2.0, 1.2])
_CHANNEL_PRICE = np.array([0.93, 1.0, 1.0, 0.88, 1.0, 0.97])  # negotiated price level
_RETAIL = np.array([True, True, False, False, False, True])  # weekend-peaking channels
# day-of-week intensity, Monday first
_DOW_RETAIL = np.array([0.85, 0.85, 0.9, 0.95, 1.1, 1.3, 1.05])
_DOW_B2B = np.array([1.2, 1.15, 1.1, 1.1, 1.1, 0.6, 0.3])

_SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁沈"
)
_GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红玲飞鹏辉波宁斌浩凯琳")
_SHOP_WORDS = {
    "超市": ["超市", "生活超市", "优选超市", "购物广场", "量贩超市"],
    "便利店": ["便利店", "24小时便利店", "便民店", "快客便利"],
    "食杂店": ["食杂店", "小卖部", "副食店", "商店", "日杂店"],
    "批发商": ["批发部", "商贸有限公司", "食品批发商行", "副食品批发"],
    "餐饮": ["饭店", "家常菜馆", "火锅店", "面馆", "烧烤店", "酒楼"],
    "电商": ["网店", "社区团购", "电商旗舰店", "生鲜小程序店"],
}
_FIRM_WORDS = ["恒通", "华润", "永盛", "鑫达", "丰源", "佳美", "兴隆", "利民"]
_AGE_BANDS = ("18-25", "26-35", "36-45", "46-55", "56岁以上")


def generate_demo(
    out_dir: str | Path,
    *,
    customers: int = 3000,
    start: str | dt.date = "2023-01-01",
    days: int = 730,
    seed: int = 7,
) -> dict[str, Path]:
    """Write a demo data set of a Chinese FMCG distributor and its customers.

    Parameters
    ----------
    out_dir
        Folder to write into (created if needed).
    customers
        Number of customers in the master data (about 50 order lines each).
    start
        First day of the order history (a date or ``YYYY-MM-DD``).
    days
        Length of the order history in days.
    seed
        Random seed: the same arguments give byte-identical files.

    Returns
    -------
    The paths written, by name: ``customers`` (``customers.csv``, UTF-8 with
    BOM), ``products`` (``products.csv``, UTF-8 with BOM) and ``orders``
    (``orders.csv``, GBK), with the Chinese headers of :data:`CUSTOMER_HEADERS`,
    :data:`PRODUCT_HEADERS` and :data:`ORDER_HEADERS`.

    Examples
    --------
    >>> files = generate_demo("demo-data", customers=300)  # doctest: +SKIP
    >>> sorted(files)  # doctest: +SKIP
    ['customers', 'orders', 'products']
    """
    if not isinstance(customers, int | np.integer) or customers < 1:
        raise ConfigError(f"customers must be a positive whole number, got {customers!r}")
    if not isinstance(days, int | np.integer) or days < 7:
        raise ConfigError(f"days must be a whole number of at least 7, got {days!r}")
    first_day = _parse_start(start)
    rng = np.random.default_rng(seed)

    products = _products()
    cust = _customers(rng, customers, first_day, days)
    orders = _orders(rng, cust, products, first_day, days)

    out = Path(out_dir)
    paths = {
        "customers": out / "customers.csv",
        "products": out / "products.csv",
        "orders": out / "orders.csv",
    }
    write_csv(paths["customers"], cust["table"])
    write_csv(paths["products"], products.drop(columns=["_premium"]), float_format="%.2f")
    # the orders as a Chinese ERP exports them: GBK, two decimals, full timestamps
    write_csv(
        paths["orders"],
        orders,
        encoding="gbk",
        float_format="%.2f",
        date_format="%Y-%m-%d %H:%M:%S",
    )
    return paths


def _parse_start(start: str | dt.date) -> dt.date:
    if isinstance(start, dt.datetime):
        return start.date()
    if isinstance(start, dt.date):
        return start
    try:
        return dt.date.fromisoformat(str(start))
    except ValueError:
        raise ConfigError(f"start: {start!r} is not a date (expected YYYY-MM-DD)") from None


def _products() -> pd.DataFrame:
    rows = [
        (cat, *line.split(" ")) for cat, block in _CATALOGUE.items() for line in block.splitlines()
    ]
    df = pd.DataFrame(rows, columns=["品类", "品牌", "_name", "规格", "单价"])
    df["单价"] = df["单价"].astype(float)
    df.insert(0, "商品编码", [f"SP{i:05d}" for i in range(1, len(df) + 1)])
    df.insert(1, "商品名称", df["品牌"] + df["_name"])
    df["_premium"] = df["单价"] >= _PREMIUM_PRICE
    return df[["商品编码", "商品名称", "品类", "品牌", "单价", "规格", "_premium"]]


def _geography() -> pd.DataFrame:
    rows = []
    for province, cities in _GEOGRAPHY.items():
        for city, districts in cities.items():
            for d in districts.split():
                name = d.rstrip("*")
                # 0 core urban district, 1 outer district or county-level city, 2 county
                kind = (
                    2 if name.endswith("县") else 1 if d.endswith("*") or name.endswith("市") else 0
                )
                rows.append((province, city, name, kind))
    return pd.DataFrame(rows, columns=["province", "city", "district", "kind"])


def _customers(rng: np.random.Generator, n: int, first_day: dt.date, days: int) -> dict:
    """Master data plus the hidden behaviour of each customer (rates, spells)."""
    geo = _geography()
    # big cities get more customers: weight districts by a city weight
    city_codes, city_idx = np.unique(geo.city.to_numpy(), return_inverse=True)
    city_weight = rng.uniform(0.5, 2.0, len(city_codes))
    w = city_weight[city_idx] / np.bincount(city_idx)[city_idx]
    d = rng.choice(len(geo), size=n, p=w / w.sum())
    kind = geo.kind.to_numpy()[d]

    # city/suburb/rural type from the district kind
    area_p = np.array([[0.85, 0.13, 0.02], [0.25, 0.55, 0.20], [0.05, 0.25, 0.70]])
    area = _choice_rows(rng, area_p[kind])
    # channel mix shifts to groceries and wholesalers in the countryside
    chan_p = _CHANNEL_SHARE * np.array(
        [
            [1.2, 1.4, 0.6, 0.8, 1.1, 1.5],
            [1.0, 0.9, 1.1, 1.1, 1.0, 0.8],
            [0.6, 0.4, 1.6, 1.4, 0.8, 0.3],
        ]
    )
    chan = _choice_rows(rng, chan_p[area] / chan_p[area].sum(axis=1, keepdims=True))

    # behaviour: heterogeneous order rates and sizes, a few very large wholesalers
    rate = _CHANNEL_RATE[chan] * rng.gamma(1.3, 1 / 1.3, n)
    size = rng.lognormal(0.0, 0.4, n)
    wholesale = np.flatnonzero(chan == 3)
    big = rng.choice(wholesale, size=min(len(wholesale), max(1, n // 300)), replace=False)
    rate[big] *= 2.5
    size[big] *= 3.0
    premium = rng.random(n) < np.array([0.45, 0.25, 0.10])[area]

    # lifecycle: 70% existed before the period, the rest join during it
    existing = rng.random(n) < 0.7
    signup = np.where(
        existing,
        -rng.integers(30, 8 * 365, n),  # days before first_day
        rng.integers(0, max(1, days - 30), n),
    )
    begin = np.maximum(signup, 0)
    # churn: constant hazard (mean lifetime ~4 years), lower for the large accounts
    life = rng.exponential(np.where(size > 2, 3000.0, 1400.0), n)
    stop = np.minimum(begin + life, days).astype(np.int64)
    churned = stop < days
    # a few of those who stopped are won back after a pause
    back = churned & (rng.random(n) < 0.15)
    back_start = stop + rng.integers(60, 240, n)
    back = back & (back_start < days - 14)
    back_stop = np.where(back, days, 0)
    back_start = np.where(back, back_start, 0)

    ids = np.char.zfill(np.arange(1, n + 1).astype(str), 6)  # 000001: leading zeros
    table = pd.DataFrame(
        {
            "客户编号": ids,
            "客户名称": _shop_names(rng, geo.city.to_numpy()[d], chan),
            "联系电话": _phones(rng, n),
            "省份": geo.province.to_numpy()[d],
            "城市": geo.city.to_numpy()[d],
            "区县": geo.district.to_numpy()[d],
            "城乡类型": np.array(AREA_TYPES)[area],
            "渠道": np.array(CHANNELS)[chan],
            "性别": _blank_some(rng, np.where(rng.random(n) < 0.58, "男", "女"), 0.12),
            "年龄段": _blank_some(
                rng,
                np.array(_AGE_BANDS)[
                    _choice_rows(rng, np.tile([0.08, 0.3, 0.32, 0.2, 0.1], (n, 1)))
                ],
                0.2,
            ),
            "业务员": _reps(rng, city_idx[d], len(city_codes)),
            "经销商": _distributors(rng, city_codes, city_idx[d]),
            "注册日期": pd.to_datetime(first_day) + pd.to_timedelta(signup, unit="D"),
        }
    )
    table["注册日期"] = table["注册日期"].dt.strftime("%Y-%m-%d")
    return {
        "table": table,
        "ids": ids,
        "channel": chan,
        "rate": rate,
        "size": size,
        "premium": premium,
        # active spells [start, stop) in day offsets; the second one is the win-back
        "spells": (begin, stop, back_start, back_stop),
    }


def _orders(
    rng: np.random.Generator, cust: dict, products: pd.DataFrame, first_day: dt.date, days: int
) -> pd.DataFrame:
    """Order lines of all customers, plus walk-in sales, cancellations, returns, duplicates."""
    chan = cust["channel"]
    begin, stop, b2, s2 = cust["spells"]
    n = len(chan)
    dates = pd.date_range(first_day, periods=days, freq="D")
    dow = dates.day_of_week.to_numpy()
    festival, build_up = _festival(dates)
    # cumulative daily intensity per profile (0 retail, 1 B2B) for inverse-CDF sampling
    inten = np.stack([_DOW_RETAIL[dow] * festival, _DOW_B2B[dow] * festival])
    cum = np.concatenate([np.zeros((2, 1)), np.cumsum(inten, axis=1)], axis=1)
    profile = np.where(_RETAIL[chan], 0, 1)

    # orders per active spell: Poisson(rate * integrated intensity); rate is per week
    spell_cust = np.concatenate([np.arange(n), np.arange(n)])
    spell_a = np.concatenate([begin, b2])
    spell_b = np.concatenate([stop, s2])
    p = profile[spell_cust]
    lo, hi = cum[p, spell_a], cum[p, np.maximum(spell_a, spell_b)]
    n_orders = rng.poisson(cust["rate"][spell_cust] / 7.0 * (hi - lo))
    o_spell = np.repeat(np.arange(len(spell_cust)), n_orders)
    o_cust = spell_cust[o_spell]
    u = lo[o_spell] + rng.random(len(o_spell)) * (hi - lo)[o_spell]
    o_prof = profile[o_cust]
    o_day = np.empty(len(o_spell), dtype=np.int64)
    for k in (0, 1):  # one vectorised search per intensity profile
        m = o_prof == k
        o_day[m] = np.searchsorted(cum[k], u[m], side="right") - 1
    o_day = np.clip(o_day, 0, days - 1)
    o_cust_str = cust["ids"][o_cust]

    # walk-in sales at the distributor's own counter: no customer id
    n_walk = max(1, len(o_cust) // 150)
    w_day = np.searchsorted(cum[0], rng.random(n_walk) * cum[0, -1], side="right") - 1
    w_day = np.clip(w_day, 0, days - 1)

    o_day = np.concatenate([o_day, w_day])
    o_cust_str = np.concatenate([o_cust_str, np.full(n_walk, "", dtype=o_cust_str.dtype)])
    o_chan = np.concatenate([chan[o_cust], np.full(n_walk, 2)])  # walk-ins buy like groceries
    o_size = np.concatenate([cust["size"][o_cust], np.full(n_walk, 0.5)])
    o_prem = np.concatenate([cust["premium"][o_cust], rng.random(n_walk) < 0.2])
    n_all = len(o_day)
    # time of day: retail outlets order through the day, B2B in office hours
    retail = _RETAIL[o_chan]
    secs = np.where(
        retail, rng.integers(8 * 3600, 22 * 3600, n_all), rng.integers(6 * 3600, 18 * 3600, n_all)
    )
    o_time = dates.to_numpy()[o_day] + secs.astype("timedelta64[s]")

    # order ids: DD + date + sequence within the day, in time order
    order = np.argsort(o_time, kind="stable")
    o_day, o_cust_str, o_chan, o_size, o_prem, o_time = (
        a[order] for a in (o_day, o_cust_str, o_chan, o_size, o_prem, o_time)
    )
    first_of_day = np.searchsorted(o_day, o_day, side="left")
    seq = np.arange(n_all) - first_of_day + 1
    day_str = dates.strftime("%Y%m%d").to_numpy()[o_day]
    o_id = _concat("DD", day_str, np.char.zfill(seq.astype(str), 5))
    # whole orders cancelled: ~0.6% of orders
    o_cancel = rng.random(n_all) < 0.006

    # lines: 1 + Poisson(lines - 1) per order, product drawn by channel and premium taste
    k = 1 + rng.poisson(_CHANNEL_LINES[o_chan] - 1.0)
    line_o = np.repeat(np.arange(n_all), k)
    l_chan, l_prem = o_chan[line_o], o_prem[line_o]
    prod = _draw_products(rng, products, l_chan, l_prem)
    # one line per product and order, as an ERP export has it
    keep = ~pd.DataFrame({"o": line_o, "p": prod}).duplicated().to_numpy()
    line_o, prod, l_chan = line_o[keep], prod[keep], l_chan[keep]
    nl = len(line_o)

    cat = products["品类"].to_numpy()[prod]
    boost = np.ones(nl)
    l_day = o_day[line_o]
    gifts = np.isin(cat, ["酒类", "零食", "饮料", "乳制品"])
    boost[build_up[l_day] & gifts] = 1.8  # New Year gifts and family feasts
    month = dates.month.to_numpy()[l_day]
    boost[(cat == "饮料") & (month >= 6) & (month <= 8)] *= 1.3  # summer drinks
    mean_cases = _CHANNEL_CASES[l_chan] * o_size[line_o] * boost
    # gamma-Poisson cases: overdispersed, at least one
    qty = 1 + rng.poisson(rng.gamma(2.0, np.maximum(mean_cases - 1, 0.05) / 2.0))
    list_price = products["单价"].to_numpy()[prod]
    promo = np.where(rng.random(nl) < 0.12, rng.choice([0.9, 0.95], nl), 1.0)
    price = np.round(list_price * _CHANNEL_PRICE[l_chan] * promo, 2)
    amount = np.round(qty * price, 2)
    status = np.where(o_cancel[line_o], STATUS_CANCELLED, STATUS_DONE)

    lines = pd.DataFrame(
        {
            "订单号": o_id[line_o],
            "客户编号": o_cust_str[line_o],
            "下单时间": o_time[line_o],
            "商品编码": products["商品编码"].to_numpy()[prod],
            "数量": qty.astype(np.int64),
            "单价": price,
            "金额": amount,
            "订单状态": status,
        }
    )
    lines = pd.concat([lines, _returns(rng, lines, o_time[-1]), _duplicates(rng, lines)])
    lines = lines.sort_values(["下单时间", "订单号"], kind="stable", ignore_index=True)
    return lines


def _festival(dates: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Daily Spring Festival multiplier and the mask of the three build-up weeks."""
    factor = np.ones(len(dates))
    build_up = np.zeros(len(dates), dtype=bool)
    day = dates.to_numpy().astype("datetime64[D]")
    for year in range(dates[0].year, dates[-1].year + 2):
        ny = SPRING_FESTIVAL.get(year)
        if ny is None:
            continue
        offset = (day - np.datetime64(ny, "D")).astype(np.int64)
        pre = (offset >= -21) & (offset < 0)
        factor[pre] = 1.35 + 0.6 * (offset[pre] + 21) / 21  # stocking up, rising to the eve
        build_up |= pre
        factor[(offset >= 0) & (offset < 7)] = 0.3  # the holiday week: shops shut
        factor[(offset >= 7) & (offset < 15)] = 0.8  # slow restart until the Lantern Festival
    return factor, build_up


def _draw_products(
    rng: np.random.Generator, products: pd.DataFrame, chan: np.ndarray, premium: np.ndarray
) -> np.ndarray:
    """Product index per line: popularity x channel affinity x premium taste."""
    cat_idx = pd.Categorical(products["品类"], categories=_CATEGORIES).codes
    popularity = np.random.default_rng(20240101).lognormal(0.0, 0.6, len(products))
    is_prem = products["_premium"].to_numpy()
    out = np.empty(len(chan), dtype=np.int64)
    for c in range(len(CHANNELS)):  # one draw per (channel, taste) group, not per line
        for taste in (False, True):
            m = (chan == c) & (premium == taste)
            if not m.any():
                continue
            w = popularity * _AFFINITY[c, cat_idx] * np.where(is_prem, 2.0 if taste else 0.3, 1.0)
            out[m] = rng.choice(len(products), size=int(m.sum()), p=w / w.sum())
    return out


def _returns(rng: np.random.Generator, lines: pd.DataFrame, last: np.datetime64) -> pd.DataFrame:
    """Return lines for ~0.5% of completed customer lines: negative quantity, 1-20 days later."""
    src = lines[(lines["订单状态"] == STATUS_DONE) & (lines["客户编号"] != "")]
    src = src[rng.random(len(src)) < 0.005].copy()
    later = src["下单时间"].to_numpy() + (
        rng.integers(1, 21, len(src)) * 86400 + rng.integers(-3600, 3600, len(src))
    ).astype("timedelta64[s]")
    src = src[later < last]
    later = later[later < last]
    back_qty = -np.minimum(src["数量"].to_numpy(), rng.integers(1, 4, len(src)))
    src["订单号"] = "TH" + src["订单号"].str.slice(2)
    src["下单时间"] = later
    src["数量"] = back_qty
    src["金额"] = np.round(back_qty * src["单价"].to_numpy(), 2)
    src["订单状态"] = STATUS_RETURNED
    return src


def _duplicates(rng: np.random.Generator, lines: pd.DataFrame) -> pd.DataFrame:
    """Exact copies of ~0.2% of lines: the double export every real file has."""
    return lines[rng.random(len(lines)) < 0.002]


# --- small vectorised helpers for the master data ---------------------------------------


def _choice_rows(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """One category per row of the probability matrix ``p`` (rows sum to 1)."""
    return (rng.random((len(p), 1)) > np.cumsum(p, axis=1)).sum(axis=1).clip(0, p.shape[1] - 1)


def _concat(*parts) -> np.ndarray:
    out = pd.Series(np.broadcast_to(np.asarray(parts[0], dtype=object), len(parts[-1])))
    for part in parts[1:]:
        out = out + pd.Series(np.asarray(part, dtype=object))
    return out.to_numpy(dtype=object)


def _pick(rng: np.random.Generator, words: list[str], n: int) -> np.ndarray:
    return np.array(words, dtype=object)[rng.integers(0, len(words), n)]


def _shop_names(rng: np.random.Generator, cities: np.ndarray, chan: np.ndarray) -> np.ndarray:
    n = len(chan)
    place = (
        pd.Series(cities).str.replace(r"(市|白族自治州)$", "", regex=True).to_numpy(dtype=object)
    )
    owner = _pick(rng, _SURNAMES, n) + np.where(rng.random(n) < 0.5, "记", "氏")
    owner = np.where(rng.random(n) < 0.3, _pick(rng, _SURNAMES, n) + _pick(rng, _GIVEN, n), owner)
    suffix = np.empty(n, dtype=object)
    for c, name in enumerate(CHANNELS):
        m = chan == c
        suffix[m] = _pick(rng, _SHOP_WORDS[name], int(m.sum()))
    return _concat(place, owner, suffix)


def _phones(rng: np.random.Generator, n: int) -> np.ndarray:
    prefix = _pick(rng, ["13", "15", "17", "18", "19"], n)
    rest = np.char.zfill(rng.integers(0, 10**9, n).astype(str), 9)
    return _concat(prefix, rest)


def _blank_some(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    return np.where(rng.random(len(values)) < share, "", values)


def _reps(rng: np.random.Generator, city: np.ndarray, n_cities: int) -> np.ndarray:
    """Three sales reps per city; each customer has one."""
    names = _pick(rng, _SURNAMES, n_cities * 3) + _pick(rng, _GIVEN, n_cities * 3)
    names = names + np.where(rng.random(n_cities * 3) < 0.5, _pick(rng, _GIVEN, n_cities * 3), "")
    return names[city * 3 + rng.integers(0, 3, len(city))]


def _distributors(rng: np.random.Generator, cities: np.ndarray, city: np.ndarray) -> np.ndarray:
    """Two distributors per city, named like Chinese trading companies."""
    place = (
        pd.Series(cities).str.replace(r"(市|白族自治州)$", "", regex=True).to_numpy(dtype=object)
    )
    firms = _pick(rng, _FIRM_WORDS, 2 * len(cities))
    names = np.repeat(place, 2) + firms + "商贸有限公司"
    return names[city * 2 + rng.integers(0, 2, len(city))]


#: the admin account the demo's instructions create (a demo only: change it for real data)
DEMO_USER, DEMO_PASSWORD = "admin", "password-123"


def open_app_message(out_dir: str | Path, lang: str = "zh") -> str:
    """How to open the web application on the demo data: the commands and where to sign in.

    The commands run in the demo folder (``kehu demo`` writes the data to ``OUT/data``):
    ``kehu init`` creates the workspace (``kehu.db``, ``secret.key``), ``kehu load`` brings
    the three files into the store, ``kehu refresh`` classifies every customer, ``kehu
    users add`` creates the first user and ``kehu serve`` serves the pages at
    http://127.0.0.1:8000/.
    """
    commands = [
        f"cd {shlex.quote(str(out_dir))}",
        "kehu init",
        "kehu load data/orders.csv --customers data/customers.csv --products data/products.csv",
        "kehu refresh",
        f"kehu users add {DEMO_USER} --role admin --password {DEMO_PASSWORD}",
        "kehu serve",
    ]
    if lang == "en":
        head = "To open the web application on the demo data, run:"
        tail = (
            f"then open http://127.0.0.1:8000/ and sign in as {DEMO_USER} "
            f"(password {DEMO_PASSWORD}); add reps with "
            "`kehu users add LOGIN --role rep --rep-name NAME` (NAME as in the 业务员 column)."
        )
    else:
        head = "在演示数据上打开网页应用，请依次运行："
        tail = (
            f"然后用浏览器打开 http://127.0.0.1:8000/ ，用户名 {DEMO_USER}，密码 {DEMO_PASSWORD}；"
            "添加业务员账号：kehu users add 登录名 --role rep --rep-name 业务员姓名。"
        )
    return "\n".join([head, *(f"  {c}" for c in commands), tail])
