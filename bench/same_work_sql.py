"""``kehu classify``'s whole job as hand-written DuckDB SQL: the baseline of equal work.

    python bench/same_work_sql.py OUT.parquet FILES...

What an analyst who knows DuckDB well would write to get the same per-customer
table from the same Parquet files, with the same import rules and kehu's
default parameters (each line below says which kehu module defines the rule):

- rules (``warehouse/rules.py``): rows without a time or an amount are
  rejected; a line is a return when its quantity or amount is negative or its
  order id is ``C`` + digit, and is kept as negative (netted); non-product
  codes and fee words and zero-price lines are set aside;
- duplicates (``warehouse/importer.py``): exact copies of an earlier line with
  an order id are dropped, found as kehu finds them (sort the 64-bit hashes of
  the rows, compare neighbours, then compare the few candidates column by
  column) because grouping every row is much slower;
- the feature table (``analytics/features.py``, ``analytics/rfm.py``) and the
  seven rule classifiers (``analytics/classify/``): rfm8, segment, freq_tier,
  spend_tier, abc + value_decile, lifecycle, grade.

It is a short script of statements, not one query: the non-product ids and
the duplicate rows are small tables that the main query anti-joins, as one
would write it by hand.  The bench checks that its output equals kehu's in
every shared column.
"""

from __future__ import annotations

import sys

#: kehu's defaults (kehu.warehouse.options), repeated here on purpose: the
#: baseline must not import kehu.
NON_PRODUCT_CODES = ("POST", "DOT", "M", "C2", "D", "S", "B", "BANK CHARGES", "AMAZONFEE",
                     "CRUK", "PADS")  # fmt: skip
NON_PRODUCT_PREFIXES = ("GIFT_0001_",)
NON_PRODUCT_WORDS = ("运费", "邮费", "手续费", "快递费", "配送费", "包装费", "postage")

RFM8 = {  # (M high, R high, F high) -> (label, English label)
    (True, True, True): ("重要价值客户", "Important value"),
    (True, True, False): ("重要发展客户", "Important development"),
    (True, False, True): ("重要保持客户", "Important retention"),
    (True, False, False): ("重要挽留客户", "Important win-back"),
    (False, True, True): ("一般价值客户", "General value"),
    (False, True, False): ("一般发展客户", "General development"),
    (False, False, True): ("一般保持客户", "General retention"),
    (False, False, False): ("一般挽留客户", "General win-back"),
}
SEGMENTS = {  # R score -> segment for FM = 1..5
    5: ("New", "Potential loyalist", "Potential loyalist", "Champions", "Champions"),
    4: ("Promising", "Potential loyalist", "Potential loyalist", "Loyal", "Loyal"),
    3: ("About to sleep", "About to sleep", "Need attention", "Loyal", "Loyal"),
    2: ("Hibernating", "Hibernating", "At risk", "At risk", "Cannot lose them"),
    1: ("Lost", "Hibernating", "At risk", "At risk", "Cannot lose them"),
}
GRADES = 30
COLUMNS = "customer_id, order_id, order_time, product_id, quantity, price, amount"


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def statements(files: list[str], out: str) -> list[str]:
    """The script: four statements, the last writes ``out``."""
    source = (
        "read_parquet([" + ", ".join(_q(f) for f in files) + "], filename = true, "
        "file_row_number = true)"
    )
    codes = ", ".join(_q(c) for c in NON_PRODUCT_CODES)
    non_product = " OR ".join(
        [f"upper(product_id) IN ({codes})"]
        + [f"starts_with(upper(product_id), {_q(p)})" for p in NON_PRODUCT_PREFIXES]
        + [f"product_id ILIKE {_q('%' + w + '%')}" for w in NON_PRODUCT_WORDS if w.isascii()]
        + [f"contains(product_id, {_q(w)})" for w in NON_PRODUCT_WORDS if not w.isascii()]
    )
    rfm8 = {
        i: " ".join(
            f"WHEN {'' if m else 'NOT '}m_high AND {'' if r else 'NOT '}r_high "
            f"AND {'' if f else 'NOT '}f_high THEN {_q(labels[i])}"
            for (m, r, f), labels in RFM8.items()
        )
        for i in (0, 1)
    }
    segment = " ".join(
        f"WHEN r_score = {r} AND fm = {k + 1} THEN {_q(name)}"
        for r, row in SEGMENTS.items()
        for k, name in enumerate(row)
    )
    # grade g holds the customers whose score rank is below g/30 of them
    grade = " + ".join(f"CAST(grank * {GRADES} >= {g} * n AS INT)" for g in range(1, GRADES))
    hashed = f"hash({COLUMNS}, is_return)"
    return [
        # 1. product ids that are postage, fees and the like: tested once per distinct id
        f"""CREATE TEMP TABLE np AS SELECT product_id FROM (SELECT DISTINCT product_id
            FROM {source}) WHERE {non_product}""",
        # the rules, as a view that every later statement reads
        f"""CREATE TEMP VIEW ruled AS
        SELECT customer_id, order_id, order_time, product_id, price,
            CASE WHEN r THEN -abs(quantity) ELSE quantity END AS quantity,
            CASE WHEN r THEN -abs(amount) ELSE amount END AS amount,
            r AS is_return, filename, file_row_number AS rn
        FROM (SELECT *, coalesce(quantity < 0, false) OR amount < 0
                  OR coalesce(order_id >= 'C0' AND order_id < 'C:', false) AS r
              FROM {source} WHERE order_time IS NOT NULL AND amount IS NOT NULL)
        WHERE (product_id IS NULL OR product_id NOT IN (SELECT product_id FROM np))
          AND NOT coalesce(price = 0, false)""",
        # 2. duplicates: the hashes that repeat, then the later copies among their rows
        f"""CREATE TEMP TABLE rep AS SELECT DISTINCT h FROM (
            SELECT h, lag(h) OVER (ORDER BY h) AS p
            FROM (SELECT {hashed} AS h FROM ruled WHERE order_id IS NOT NULL)) WHERE h = p""",
        f"""CREATE TEMP TABLE dropped AS SELECT filename, rn FROM (
            SELECT filename, rn, row_number() OVER (
                PARTITION BY {COLUMNS}, is_return ORDER BY filename, rn) AS i
            FROM ruled WHERE order_id IS NOT NULL AND {hashed} IN (SELECT h FROM rep))
            WHERE i > 1""",
        # 3. features and classes
        f"""COPY (
    WITH kept AS NOT MATERIALIZED (
        SELECT * FROM ruled WHERE (filename, rn) NOT IN (SELECT (filename, rn) FROM dropped)
    ),
    cutoff AS (SELECT CAST(max(order_time) AS DATE) + 1 AS d FROM kept),
    lines AS NOT MATERIALIZED (
        SELECT customer_id, product_id, quantity, amount, NOT is_return AS buy,
            CAST(order_time AS DATE) AS day, coalesce(order_id, CAST(order_time AS VARCHAR)) AS k
        FROM kept, cutoff WHERE customer_id IS NOT NULL AND order_time < CAST(cutoff.d AS TIMESTAMP)
    ),
    unit AS (
        SELECT product_id,
            round(sum(amount) FILTER (buy) / nullif(sum(quantity) FILTER (buy), 0), 6) AS u
        FROM lines WHERE product_id IS NOT NULL GROUP BY product_id
    ),
    unit_cut AS (  -- the discrete 0.8 quantile: smallest price with 80% of prices at or below
        SELECT min(u) FILTER (i + 1 >= 0.8 * n - 1e-9) AS c FROM (
            SELECT u, row_number() OVER (ORDER BY u) - 1 AS i, count(*) OVER () AS n
            FROM unit WHERE u IS NOT NULL)
    ),
    premium AS (SELECT product_id, coalesce(u >= c, false) AS p FROM unit, unit_cut),
    g AS (
        SELECT customer_id, min(day) FILTER (buy) AS first_purchase,
            max(day) FILTER (buy) AS last_purchase, count(DISTINCT k) FILTER (buy) AS orders,
            sum(amount) AS m, sum(quantity) AS quantity, count(product_id) AS with_id,
            sum(amount) FILTER (buy AND product_id IS NOT NULL) AS spent,
            sum(amount) FILTER (buy AND product_id IS NOT NULL AND coalesce(p, false)) AS on_premium
        FROM lines LEFT JOIN premium USING (product_id) GROUP BY customer_id
    ),
    days AS (  -- distinct purchase days; the two latest give the previous purchase
        SELECT customer_id, count(*) AS purchase_days, max(day, 2) AS top2
        FROM (SELECT DISTINCT customer_id, day FROM lines WHERE buy) GROUP BY customer_id
    ),
    breadth AS (
        SELECT customer_id, count(*) AS n_products FROM (SELECT DISTINCT customer_id, product_id
            FROM lines WHERE buy AND product_id IS NOT NULL) GROUP BY customer_id
    ),
    f AS (
        SELECT customer_id, first_purchase, last_purchase,
            CAST(cutoff.d - last_purchase AS BIGINT) AS recency_days, orders,
            round(m, 6) AS monetary, round(round(m, 6) / orders, 6) AS avg_order_value, quantity,
            CASE WHEN with_id > 0 THEN coalesce(n_products, 0) END AS distinct_products,
            round(coalesce(on_premium, 0.0) / CASE WHEN spent > 0 THEN spent END, 12)
                AS premium_share,
            CASE WHEN len(top2) > 1 THEN top2[2] END AS prev_purchase, purchase_days,
            CAST(last_purchase - first_purchase AS DOUBLE) / nullif(purchase_days - 1, 0)
                AS mean_gap_days,
            CAST(cutoff.d - first_purchase AS BIGINT) AS tenure_days
        FROM g JOIN days USING (customer_id) LEFT JOIN breadth USING (customer_id), cutoff
        WHERE orders > 0
    ),
    ranked AS (  -- 0-based minimum ranks; ties share a rank
        SELECT *, count(*) OVER () AS n,
            rank() OVER (ORDER BY recency_days DESC) - 1 AS r_rank,
            rank() OVER (ORDER BY orders) - 1 AS f_rank,
            rank() OVER (ORDER BY monetary) - 1 AS m_rank,
            rank() OVER (ORDER BY monetary DESC) - 1 AS spend_rank,
            rank() OVER (ORDER BY quantity IS NOT NULL, quantity) - 1 AS q_rank,
            rank() OVER (ORDER BY distinct_products IS NOT NULL, distinct_products) - 1 AS p_rank,
            rank() OVER (ORDER BY premium_share IS NOT NULL, premium_share) - 1 AS s_rank,
            recency_days < avg(recency_days) OVER () AS r_high,
            orders > avg(orders) OVER () AS f_high, monetary > avg(monetary) OVER () AS m_high,
            -- revenue of the customers with a strictly greater monetary value
            sum(greatest(monetary, 0)) OVER (ORDER BY monetary DESC
                RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
                - sum(greatest(monetary, 0)) OVER (PARTITION BY monetary) AS prior,
            sum(greatest(monetary, 0)) OVER () AS total
        FROM f
    ),
    gap AS (  -- lower median of the customers' mean gaps
        SELECT min(mean_gap_days) FILTER (i + 1 >= 0.5 * n - 1e-9) AS median_gap FROM (
            SELECT mean_gap_days, row_number() OVER (ORDER BY mean_gap_days) - 1 AS i,
                count(*) OVER () AS n FROM f WHERE mean_gap_days IS NOT NULL)
    ),
    scored AS (
        SELECT *,
            least(coalesce(1 + (r_rank * 5) // nullif(n - 1, 0), 1), 5) AS r_score,
            least(coalesce(1 + (f_rank * 5) // nullif(n - 1, 0), 1), 5) AS f_score,
            least(coalesce(1 + (m_rank * 5) // nullif(n - 1, 0), 1), 5) AS m_score,
            least(coalesce(1 + (m_rank * 10) // nullif(n - 1, 0), 1), 10) AS value_decile,
            round(0.3 * coalesce(q_rank / nullif(n - 1, 0), 0)
                + 0.4 * coalesce(m_rank / nullif(n - 1, 0), 0)
                + 0.2 * coalesce(p_rank / nullif(n - 1, 0), 0)
                + 0.1 * coalesce(s_rank / nullif(n - 1, 0), 0), 9) AS grade_score,
            greatest(coalesce(mean_gap_days, (SELECT median_gap FROM gap), 30), 7) AS usual_gap
        FROM ranked
    ),
    graded AS (
        SELECT *, (f_score + m_score + 1) // 2 AS fm,
            rank() OVER (ORDER BY grade_score) - 1 AS grank FROM scored
    )
    SELECT customer_id, first_purchase, last_purchase, recency_days, orders, monetary,
        avg_order_value, r_score, f_score, m_score, quantity, distinct_products, premium_share,
        prev_purchase, purchase_days, mean_gap_days, tenure_days,
        CASE {rfm8[0]} END AS rfm8, CASE {rfm8[1]} END AS rfm8_en, CASE {segment} END AS segment,
        CASE WHEN orders * 7 / greatest(tenure_days, 28) >= 2 THEN 'high'
             WHEN orders * 30 / greatest(tenure_days, 28) >= 2 THEN 'medium'
             ELSE 'low' END AS freq_tier,
        CASE WHEN spend_rank < 0.2 * n - 1e-9 THEN 'high'
             WHEN spend_rank < 0.5 * n - 1e-9 THEN 'medium' ELSE 'low' END AS spend_tier,
        CASE WHEN monetary > 0 AND prior < 0.8 * total THEN 'A'
             WHEN monetary > 0 AND prior < 0.95 * total THEN 'B' ELSE 'C' END AS abc,
        value_decile,
        CASE WHEN tenure_days <= 60 THEN 'new'
             WHEN last_purchase - prev_purchase > 3 * usual_gap
                  AND last_purchase - prev_purchase > 90
                  AND recency_days <= 1.5 * usual_gap THEN 'won_back'
             WHEN recency_days <= 1.5 * usual_gap THEN 'active'
             WHEN recency_days <= 3 * usual_gap THEN 'at_risk' ELSE 'lapsed' END AS lifecycle,
        grade_score, 1 + {grade} AS grade
    FROM graded
) TO {_q(out)} (FORMAT parquet)""",
    ]


def run(files: list[str], out: str) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    for sql in statements(files, out):
        con.execute(sql)


if __name__ == "__main__":
    run(sys.argv[2:], sys.argv[1])
