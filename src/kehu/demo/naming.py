"""Names in the master data: shops, phone numbers, sales reps and distributors."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kehu.demo.draws import concat, pick
from kehu.demo.market import CHANNELS

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁沈"
)
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红玲飞鹏辉波宁斌浩凯琳")
SHOP_WORDS = {
    "超市": ["超市", "生活超市", "优选超市", "购物广场", "量贩超市"],
    "便利店": ["便利店", "24小时便利店", "便民店", "快客便利"],
    "食杂店": ["食杂店", "小卖部", "副食店", "商店", "日杂店"],
    "批发商": ["批发部", "商贸有限公司", "食品批发商行", "副食品批发"],
    "餐饮": ["饭店", "家常菜馆", "火锅店", "面馆", "烧烤店", "酒楼"],
    "电商": ["网店", "社区团购", "电商旗舰店", "生鲜小程序店"],
}
FIRM_WORDS = ["恒通", "华润", "永盛", "鑫达", "丰源", "佳美", "兴隆", "利民"]


def shop_names(rng: np.random.Generator, cities: np.ndarray, chan: np.ndarray) -> np.ndarray:
    """A shop name per customer: the city, an owner's name, a word for the channel."""
    n = len(chan)
    place = (
        pd.Series(cities).str.replace(r"(市|白族自治州)$", "", regex=True).to_numpy(dtype=object)
    )
    owner = pick(rng, SURNAMES, n) + np.where(rng.random(n) < 0.5, "记", "氏")
    owner = np.where(rng.random(n) < 0.3, pick(rng, SURNAMES, n) + pick(rng, GIVEN, n), owner)
    suffix = np.empty(n, dtype=object)
    for c, name in enumerate(CHANNELS):
        m = chan == c
        suffix[m] = pick(rng, SHOP_WORDS[name], int(m.sum()))
    return concat(place, owner, suffix)


def phones(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mobile numbers: 11 digits starting 13, 15, 17, 18 or 19."""
    prefix = pick(rng, ["13", "15", "17", "18", "19"], n)
    rest = np.char.zfill(rng.integers(0, 10**9, n).astype(str), 9)
    return concat(prefix, rest)


def reps(rng: np.random.Generator, city: np.ndarray, n_cities: int) -> np.ndarray:
    """Three sales reps per city; each customer has one."""
    names = pick(rng, SURNAMES, n_cities * 3) + pick(rng, GIVEN, n_cities * 3)
    names = names + np.where(rng.random(n_cities * 3) < 0.5, pick(rng, GIVEN, n_cities * 3), "")
    return names[city * 3 + rng.integers(0, 3, len(city))]


def distributors(rng: np.random.Generator, cities: np.ndarray, city: np.ndarray) -> np.ndarray:
    """Two distributors per city, named like Chinese trading companies."""
    place = (
        pd.Series(cities).str.replace(r"(市|白族自治州)$", "", regex=True).to_numpy(dtype=object)
    )
    firms = pick(rng, FIRM_WORDS, 2 * len(cities))
    names = np.repeat(place, 2) + firms + "商贸有限公司"
    return names[city * 2 + rng.integers(0, 2, len(city))]
