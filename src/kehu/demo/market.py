"""The market's channels and areas: how much, how often and at what price each channel buys."""

from __future__ import annotations

import numpy as np

CHANNELS = ("超市", "便利店", "食杂店", "批发商", "餐饮", "电商")
AREA_TYPES = ("城市", "郊区", "农村")
# category affinity per channel (rows: CHANNELS, columns: catalogue.CATEGORIES)
AFFINITY = np.array(
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
CHANNEL_SHARE = np.array([0.12, 0.22, 0.33, 0.06, 0.17, 0.10])
CHANNEL_RATE = np.array([0.40, 0.28, 0.18, 0.55, 0.25, 0.11])
CHANNEL_LINES = np.array([4.5, 2.5, 2.0, 5.0, 1.8, 1.4])
CHANNEL_CASES = np.array([5.0, 1.5, 1.2, 12.0, 2.0, 1.2])
CHANNEL_PRICE = np.array([0.93, 1.0, 1.0, 0.88, 1.0, 0.97])  # negotiated price level
RETAIL = np.array([True, True, False, False, False, True])  # weekend-peaking channels
