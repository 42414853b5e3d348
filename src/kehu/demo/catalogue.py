"""What the distributor sells: the product catalogue, and which products a line is for."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kehu.demo.market import AFFINITY, CHANNELS

PRODUCT_HEADERS = ("商品编码", "商品名称", "品类", "品牌", "单价", "规格")

# --- products: category -> "brand name spec price" (price per sales unit, usually a case) ---
CATALOGUE = {
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
CATEGORIES = tuple(CATALOGUE)
#: products above this unit price (per case) are the premium lines
PREMIUM_PRICE = 300.0


def product_table() -> pd.DataFrame:
    """The catalogue as the products file has it, plus ``_premium`` (kept out of the file)."""
    rows = [
        (cat, *line.split(" ")) for cat, block in CATALOGUE.items() for line in block.splitlines()
    ]
    df = pd.DataFrame(rows, columns=["品类", "品牌", "_name", "规格", "单价"])
    df["单价"] = df["单价"].astype(float)
    df.insert(0, "商品编码", [f"SP{i:05d}" for i in range(1, len(df) + 1)])
    df.insert(1, "商品名称", df["品牌"] + df["_name"])
    df["_premium"] = df["单价"] >= PREMIUM_PRICE
    return df[["商品编码", "商品名称", "品类", "品牌", "单价", "规格", "_premium"]]


def draw_products(
    rng: np.random.Generator, products: pd.DataFrame, chan: np.ndarray, premium: np.ndarray
) -> np.ndarray:
    """Product index per line: popularity x channel affinity x premium taste."""
    cat_idx = pd.Categorical(products["品类"], categories=CATEGORIES).codes
    popularity = np.random.default_rng(20240101).lognormal(0.0, 0.6, len(products))
    is_prem = products["_premium"].to_numpy()
    out = np.empty(len(chan), dtype=np.int64)
    for c in range(len(CHANNELS)):  # one draw per (channel, taste) group, not per line
        for taste in (False, True):
            m = (chan == c) & (premium == taste)
            if not m.any():
                continue
            w = popularity * AFFINITY[c, cat_idx] * np.where(is_prem, 2.0 if taste else 0.3, 1.0)
            out[m] = rng.choice(len(products), size=int(m.sum()), p=w / w.sum())
    return out
