"""Chinese and English display strings: column headers, class labels, report text.

One plain dictionary per kind of string, no gettext machinery: the product has
two languages and the strings live next to each other so that a missing
translation shows up in review (and in ``tests/test_i18n.py``).

* :func:`header` -- the display name of a column (unknown columns keep their name);
* :func:`label` -- the display name of a class value (``segment`` "Champions" ->
  "冠军客户"); the Chinese 8-class model stores Chinese values, whose English
  names come from :data:`RFM8_EN`;
* :func:`text` -- a report or UI string by key.
"""

from __future__ import annotations

import re
from typing import Any

from kehu.exceptions import ConfigError
from kehu.names import LABELLED_CLASS_COLUMNS, RFM8_EN

LANGS = ("zh", "en")

#: column -> (zh, en)
HEADERS: dict[str, tuple[str, str]] = {
    # identity and master data
    "customer_id": ("客户编号", "Customer ID"),
    "name": ("名称", "Name"),
    "phone": ("电话", "Phone"),
    "country": ("国家", "Country"),
    "region": ("区域", "Region"),
    "province": ("省份", "Province"),
    "city": ("城市", "City"),
    "district": ("区县", "District"),
    "area_type": ("城乡类型", "Area type"),
    "channel": ("渠道", "Channel"),
    "gender": ("性别", "Gender"),
    "age_band": ("年龄段", "Age band"),
    "income_band": ("收入段", "Income band"),
    "sales_rep": ("业务员", "Sales rep"),
    "distributor_id": ("经销商", "Distributor"),
    "signup_date": ("注册日期", "Sign-up date"),
    # the RFM contract
    "first_purchase": ("首次购买日期", "First purchase"),
    "last_purchase": ("最近购买日期", "Last purchase"),
    "recency_days": ("最近购买距今天数", "Days since last purchase"),
    "p_alive": ("仍活跃概率", "Probability still active"),
    "expected_purchases_90d": ("未来90天预计购买次数", "Expected purchases, next 90 days"),
    "clv": ("客户终身价值(1年)", "Lifetime value (1 year)"),
    "churn_risk": ("流失风险", "Churn risk"),
    "churn_reasons": ("流失主要原因", "Main churn reasons"),
    "recommendations": ("推荐商品", "Recommended products"),
    "orders": ("订单数", "Orders"),
    "monetary": ("消费金额", "Spend"),
    "avg_order_value": ("客单价", "Average order value"),
    "r_score": ("R分", "R score"),
    "f_score": ("F分", "F score"),
    "m_score": ("M分", "M score"),
    # features
    "top_category": ("偏好品类", "Top category"),
    "top_brand": ("偏好品牌", "Top brand"),
    "tenure_days": ("客龄天数", "Tenure (days)"),
    "units": ("购买件数", "Units"),
    "products": ("购买商品数", "Products bought"),
    "categories": ("购买品类数", "Categories bought"),
    "return_amount": ("退货金额", "Returned amount"),
    # classes
    "rfm8": ("RFM八类", "RFM 8-class"),
    "rfm8_en": ("RFM八类(英文)", "RFM 8-class"),
    "segment": ("客户分群", "Segment"),
    "freq_tier": ("购买频次档", "Frequency tier"),
    "spend_tier": ("消费档", "Spend tier"),
    "abc": ("ABC分类", "ABC class"),
    "value_decile": ("价值十分位", "Value decile"),
    "lifecycle": ("生命周期", "Lifecycle stage"),
    "grade": ("档位", "Grade"),
    "cluster": ("行为聚类", "Behaviour cluster"),
    "cluster_label": ("聚类描述", "Cluster description"),
    "custom_segment": ("自定义分群", "Custom segment"),
    # profiles
    "class": ("类别", "Class"),
    "customers": ("客户数", "Customers"),
    "customer_share": ("客户占比", "Share of customers"),
    "revenue": ("销售额", "Revenue"),
    "revenue_share": ("销售额占比", "Share of revenue"),
    "mean_recency_days": ("平均最近购买天数", "Mean days since purchase"),
    "mean_orders": ("平均订单数", "Mean orders"),
    "mean_monetary": ("平均消费金额", "Mean spend"),
    "mean_aov": ("平均客单价", "Mean order value"),
    "top_categories": ("主要品类", "Top categories"),
    "top_brands": ("主要品牌", "Top brands"),
    "region_mix": ("区域分布", "Region mix"),
    "channel_mix": ("渠道分布", "Channel mix"),
    # KPIs
    "month": ("月份", "Month"),
    "active_customers": ("活跃客户数", "Active customers"),
    "new_customers": ("新客户数", "New customers"),
    "returning_customers": ("老客户数", "Returning customers"),
    "customer_revenue": ("会员销售额", "Customer revenue"),
    "returns": ("退货金额", "Returns"),
    "aov": ("客单价", "Average order value"),
    "revenue_per_active": ("活跃客户人均销售额", "Revenue per active customer"),
    # cohorts
    "cohort": ("首购月份", "Cohort"),
    "period_index": ("间隔期数", "Periods since first purchase"),
    "cohort_size": ("同期客户数", "Cohort size"),
    "retention": ("留存率", "Retention"),
    "repeat_customers": ("复购客户数", "Repeat customers"),
    "repeat_rate": ("复购率", "Repeat-purchase rate"),
    # migration
    "from": ("原类别", "From"),
    "to": ("现类别", "To"),
    "share_of_from": ("占原类别比例", "Share of from-class"),
    # products
    "product_id": ("商品编号", "Product ID"),
    "category": ("品类", "Category"),
    "brand": ("品牌", "Brand"),
    "price": ("价格", "Price"),
    "prev_units": ("上期件数", "Units, previous window"),
    "prev_revenue": ("上期销售额", "Revenue, previous window"),
    "growth": ("增长率", "Growth"),
    "last_sale": ("最近销售日期", "Last sale"),
    "days_since_last_sale": ("距最近销售天数", "Days since last sale"),
    "share": ("占比", "Share"),
    # timing, baskets and gaps
    "weekday": ("星期", "Weekday"),
    "hour": ("时段", "Hour"),
    "items": ("件数", "Items"),
    "lines": ("行数", "Lines"),
    "amount": ("金额", "Amount"),
    "gaps": ("间隔次数", "Gaps"),
    "bucket": ("间隔天数", "Days between purchases"),
    # playbook
    "classifier": ("分类方法", "Classifier"),
    "action": ("建议措施", "Action"),
    "cadence": ("频率", "Cadence"),
    "offer": ("优惠/权益", "Offer"),
}

#: class column -> English value -> Chinese display name, in display order
LABELS_ZH: dict[str, dict[str, str]] = {
    "segment": {
        "Champions": "冠军客户",
        "Loyal": "忠诚客户",
        "Potential loyalist": "潜在忠诚客户",
        "New": "新客户",
        "Promising": "有潜力客户",
        "Need attention": "需要关注客户",
        "About to sleep": "即将沉睡客户",
        "At risk": "有流失风险客户",
        "Cannot lose them": "不能失去的客户",
        "Hibernating": "休眠客户",
        "Lost": "已流失客户",
    },
    "lifecycle": {
        "new": "新客户",
        "active": "活跃",
        "at_risk": "有流失风险",
        "lapsed": "已流失",
        "won_back": "已挽回",
    },
    "freq_tier": {"high": "高频", "medium": "中频", "low": "低频"},
    "spend_tier": {"high": "高消费", "medium": "中消费", "low": "低消费"},
    "abc": {"A": "A类(核心)", "B": "B类(重要)", "C": "C类(一般)"},
    "area_type": {"urban": "城市", "suburban": "郊区", "rural": "农村"},
}

#: English display names of lower-case class keys
LABELS_EN: dict[str, dict[str, str]] = {
    "lifecycle": {
        "new": "New",
        "active": "Active",
        "at_risk": "At risk",
        "lapsed": "Lapsed",
        "won_back": "Won back",
    },
    "freq_tier": {"high": "High", "medium": "Medium", "low": "Low"},
    "spend_tier": {"high": "High", "medium": "Medium", "low": "Low"},
    "abc": {"A": "A (core)", "B": "B (important)", "C": "C (general)"},
    "area_type": {"urban": "Urban", "suburban": "Suburban", "rural": "Rural"},
}

#: markers that the analytics put in class columns
SPECIAL_LABELS: dict[str, tuple[str, str]] = {
    "(none)": ("(未分类)", "(none)"),
    "(new)": ("(新出现)", "(new)"),
    "(gone)": ("(已消失)", "(gone)"),
    "(other)": ("(其他)", "(other)"),
}

#: report and UI strings: key -> (zh, en)
TEXTS: dict[str, tuple[str, str]] = {
    "report_title": ("客户分类分析报告", "Customer classification report"),
    "generated": ("生成时间", "Generated"),
    "as_of": ("分析截止日期", "As of"),
    "window": ("分析窗口", "Window"),
    "all_history": ("全部历史", "all history"),
    "days": ("天", "days"),
    "contents": ("目录", "Contents"),
    # sections
    "sec_headline": ("核心指标", "Headline figures"),
    "sec_import": ("数据导入情况", "What the import did"),
    # the import section of a store run's report (services.run_report)
    "store_source": (
        "数据来自团队客户库的第 {run} 次分类运行：{customers:,} 位客户，"
        "截至 {as_of} 的 {lines:,} 行订单。",
        "From run {run} of the team's store: {customers:,} customers, {lines:,} order lines "
        "before {as_of}.",
    ),
    "store_skipped": (
        "{n:,} 行订单的下单时间不是日期，未计入。",
        "{n:,} order lines were left out: their order time is not a date.",
    ),
    "sec_classes": ("各类客户规模与销售额占比", "Class sizes and revenue shares"),
    "sec_rfm_heat": ("RFM热力图", "RFM heat map"),
    "sec_profiles": ("各类客户画像与建议措施", "Class profiles and recommended actions"),
    "sec_migration": ("客户类别迁移", "Class migration"),
    "sec_cohorts": ("同期群留存", "Cohort retention"),
    "sec_products": ("畅销与滞销商品", "Hot and slow-moving products"),
    "sec_categories": ("品类偏好", "Category preference"),
    "sec_clv": ("客户终身价值", "Customer lifetime value"),
    "sec_churn": ("流失风险模型", "Churn risk model"),
    "sec_forecast": ("销售预测", "Sales forecast"),
    "clv_distribution": ("客户终身价值分布(未来1年)", "Lifetime value over the next year"),
    "clv_total": (
        "全部客户未来1年预计价值合计 {total}；BG/NBD参数 {params}",
        "Expected value of all customers over the next year: {total}; BG/NBD parameters {params}",
    ),
    "clv_holdout": (
        "模型检验：用截至90天前的数据拟合，预测最近90天的购买次数（按此前重复购买次数分组）",
        "Check: fit without the last 90 days, then predict their purchases "
        "(by earlier repeat purchases)",
    ),
    "repeat_purchases": ("此前重复购买次数", "Earlier repeat purchases"),
    "mean_purchases": ("每位客户平均购买次数", "Mean purchases per customer"),
    "actual": ("实际", "Actual"),
    "predicted": ("预测", "Predicted"),
    "churn_gains": (
        "累计命中率：按风险从高到低联系前x%客户，能覆盖多少真正流失的客户（检验截止日 {cutoff}）",
        "Cumulative gains: share of real churners reached by contacting the top x% by risk "
        "(test cut-off {cutoff})",
    ),
    "share_of_customers": ("联系的客户比例", "Share of customers contacted"),
    "share_of_churners": ("覆盖的流失客户比例", "Share of churners reached"),
    "score_model": ("流失模型", "Churn model"),
    "score_recency": ("仅按最近购买天数", "Recency alone"),
    "score_bgnbd": ("BG/NBD 活跃概率", "BG/NBD P(alive)"),
    "score_random": ("随机", "Random"),
    "metric": ("指标", "Metric"),
    "forecast_chart": (
        "{series}：历史与预测（含{level}%预测区间）",
        "{series}: history and forecast ({level}% interval)",
    ),
    "sec_kpis": ("月度指标", "Monthly KPIs"),
    "sec_timing": ("购买时间分布", "Purchase timing"),
    "sec_method": ("方法说明", "Method notes"),
    # headline figures
    "kpi_customers": ("客户数", "Customers"),
    "kpi_revenue": ("客户销售额", "Customer revenue"),
    "kpi_orders": ("订单数", "Orders"),
    "kpi_aov": ("客单价", "Average order value"),
    "kpi_median_recency": ("最近购买天数中位数", "Median days since purchase"),
    "kpi_repeat_rate": ("复购率", "Repeat-purchase rate"),
    # chart titles and axes
    "share_customers": ("客户占比", "Share of customers"),
    "share_revenue": ("销售额占比", "Share of revenue"),
    "r_score": ("R分(越高越近)", "R score (higher = more recent)"),
    "f_score": ("F分(越高越频繁)", "F score (higher = more frequent)"),
    "heat_customers": ("客户数", "Customers"),
    "heat_monetary": ("平均消费金额", "Mean spend"),
    "migration_from": ("原类别", "From class"),
    "migration_to": ("现类别", "To class"),
    "migration_note": (
        "行为原类别、列为现类别，格中数字为客户数；“(新出现)”为前一期没有的客户，“(已消失)”为后一期没有的客户。",
        "Rows are the earlier class, columns the later one, cells count customers; "
        "(new) are customers absent before, (gone) customers absent after.",
    ),
    "migration_between": ("对比日期", "Between"),
    "cohort_axis": ("首购月份", "Month of first purchase"),
    "period_axis": ("首购后第几个月", "Months after first purchase"),
    "cohort_note": (
        "每行是一批在同一个月首次购买的客户，格中是其后第k个月仍有购买的客户比例。",
        "Each row is the customers whose first purchase fell in that month; "
        "cells are the share of them buying k months later.",
    ),
    "hot_products": ("畅销商品", "Hot products"),
    "slow_products": ("滞销商品", "Slow-moving products"),
    "hot_note": (
        "按窗口期内销售额排序，增长率与上一个同长度窗口相比。",
        "Ranked by revenue in the window; growth compares with the previous window "
        "of the same length.",
    ),
    "slow_note": (
        "有销售历史但窗口期内销量最低或为零的商品。",
        "Products with a sales history whose units in the window are lowest or zero.",
    ),
    "revenue": ("销售额", "Revenue"),
    "customer_revenue": ("会员销售额", "Customer revenue"),
    "active_customers": ("活跃客户", "Active customers"),
    "new_customers": ("新客户", "New customers"),
    "returning_customers": ("老客户", "Returning customers"),
    "orders": ("订单数", "Orders"),
    "by_weekday": ("按星期", "By weekday"),
    "by_hour": ("按时段", "By hour"),
    "by_month": ("按月份", "By month of year"),
    "weekdays": ("周一,周二,周三,周四,周五,周六,周日", "Mon,Tue,Wed,Thu,Fri,Sat,Sun"),
    "months": (
        "1月,2月,3月,4月,5月,6月,7月,8月,9月,10月,11月,12月",
        "Jan,Feb,Mar,Apr,May,Jun,Jul,Aug,Sep,Oct,Nov,Dec",
    ),
    # profiles and playbook
    "playbook_action": ("建议措施", "Recommended action"),
    "no_playbook": ("(无建议)", "(no recommendation)"),
    "profile_of": ("画像", "profile"),
    # method notes
    "classifier": ("分类方法", "Classifier"),
    "version": ("规则版本", "Rule version"),
    "params": ("参数", "Parameters"),
    "thresholds": ("阈值", "Thresholds"),
    "method_rfm": (
        "R、F、M分为1-5分的分位数得分：R按最近购买距今天数（越近越高），F按订单数，M按消费金额；相同的值得同一分数。",
        "R, F and M are 1-5 quantile scores: R by days since the last purchase (recent = high), "
        "F by number of orders, M by spend; equal values share a score.",
    ),
    "method_returns": (
        "销售额为净额：退货冲减销售额；匿名销售计入总销售额，但不计入客户指标。",
        "Revenue is net: returns are subtracted; anonymous sales count towards total revenue "
        "but not towards customer figures.",
    ),
    "none": ("无", "none"),
    "empty": ("(无数据)", "(no data)"),
    "sheet_customers": ("客户明细", "Customers"),
    "sheet_playbook": ("策略手册", "Playbook"),
    "sheet_profile": ("画像", "Profile"),
}


def check_lang(lang: str) -> str:
    """Return ``lang`` if it is a supported language, else raise :class:`ConfigError`."""
    if lang not in LANGS:
        raise ConfigError(f"language must be one of {', '.join(LANGS)}, got {lang!r}")
    return lang


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[LANGS.index(check_lang(lang))]


def header(column: str, lang: str = "zh") -> str:
    """Display name of a column; an unknown column keeps its own name."""
    pair = HEADERS.get(column)
    if pair is None:
        check_lang(lang)
        return column
    return _pick(pair, lang)


def _norm(value: str) -> str:
    """Loose key so that "Cannot lose them", "cannot_lose_them" and "At-Risk" match."""
    return re.sub(r"[^0-9a-z]+", "_", value.lower()).strip("_")


# normalised English value -> canonical English value, per column
_CANONICAL: dict[str, dict[str, str]] = {
    col: {_norm(v): v for v in values} for col, values in LABELS_ZH.items()
}
# names other tools commonly use for the same segments
_CANONICAL["segment"].update(
    {
        "loyal_customers": "Loyal",
        "potential_loyalists": "Potential loyalist",
        "new_customers": "New",
        "recent_customers": "New",
        "needs_attention": "Need attention",
        "customers_needing_attention": "Need attention",
        "can_t_lose_them": "Cannot lose them",
        "cant_lose_them": "Cannot lose them",
        "cannot_lose": "Cannot lose them",
    }
)
_RFM8_ZH = {_norm(en): zh for zh, en in RFM8_EN.items()}


def canonical(column: str, value: Any) -> Any:
    """The canonical stored value of a class value written loosely (else ``value``)."""
    if not isinstance(value, str):
        return value
    if column in ("rfm8", "rfm8_en"):
        return _RFM8_ZH.get(_norm(value), value)
    return _CANONICAL.get(column, {}).get(_norm(value), value)


def label(column: str, value: Any, lang: str = "zh") -> Any:
    """Display name of a class value of ``column``.

    Unknown values (region names, cluster numbers, user segments) are returned
    unchanged; missing values become "(none)"/"(未分类)".
    """
    check_lang(lang)
    if value is None or (isinstance(value, float) and value != value):
        return _pick(SPECIAL_LABELS["(none)"], lang)
    if not isinstance(value, str):
        return value
    if value in SPECIAL_LABELS:
        return _pick(SPECIAL_LABELS[value], lang)
    if column in ("rfm8", "rfm8_en"):
        zh = canonical(column, value)
        if zh in RFM8_EN:
            return zh if lang == "zh" else RFM8_EN[zh]
        return value
    key = canonical(column, value)
    table = (LABELS_ZH if lang == "zh" else LABELS_EN).get(column, {})
    if key in table:
        return table[key]
    return key if lang == "en" and key in LABELS_ZH.get(column, {}) else value


def class_order(column: str) -> list[str]:
    """Canonical display order of the known values of a class column (may be empty)."""
    if column in ("rfm8", "rfm8_en"):
        return list(RFM8_EN)
    return list(LABELS_ZH.get(column, {}))


def text(key: str, lang: str = "zh") -> str:
    """A report/UI string by key; raises ``KeyError`` for an unknown key."""
    return _pick(TEXTS[key], lang)


def translate_frame_labels(df: Any, columns: Any, lang: str) -> Any:
    """Copy of pandas ``df`` with the class values of ``columns`` translated.

    Maps each column's distinct values once (small), not row by row.
    """
    out = df.copy()
    for col in columns:
        if col in out.columns:
            uniques = out[col].dropna().unique()
            mapping = {v: label(col, v, lang) for v in uniques}
            none = label(col, None, lang)
            out[col] = out[col].map(mapping).astype(object).where(out[col].notna(), none)
    return out


#: class columns whose values :func:`label` translates
CLASS_COLUMNS = ("rfm8", "rfm8_en", *LABELLED_CLASS_COLUMNS[1:])
