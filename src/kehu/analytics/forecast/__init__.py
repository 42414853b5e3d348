"""Sales forecasts for stock planning (销售预测).

* :func:`sales_series` — daily, weekly or monthly net sales per product,
  category, region, channel or in total, gaps filled with 0, in the engine;
* :class:`Forecaster` — AutoETS, AutoARIMA, AutoTheta or their ensemble per
  series (statsforecast), Chinese holidays and promotions as regressors,
  prediction intervals, rolling-origin backtests against seasonal naive;
* :mod:`.holidays` — the Spring Festival and other Chinese holiday tables.
"""

from kehu.analytics.forecast.backtest import mase, smape
from kehu.analytics.forecast.forecaster import Forecaster, backtest
from kehu.analytics.forecast.holidays import daily_holidays, holiday_features, spring_festival
from kehu.analytics.forecast.models import MIN_OBS, MODELS
from kehu.analytics.forecast.series import prepare_series, sales_series

__all__ = [
    "MIN_OBS",
    "MODELS",
    "Forecaster",
    "backtest",
    "daily_holidays",
    "holiday_features",
    "mase",
    "prepare_series",
    "sales_series",
    "smape",
    "spring_festival",
]
