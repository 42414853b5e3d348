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

The package, by what each part simulates:

* :mod:`~kehu.demo.geography`, :mod:`~kehu.demo.market`, :mod:`~kehu.demo.catalogue`
  and :mod:`~kehu.demo.seasons`: the fixed world -- districts, channels, products and
  the calendar's daily intensity;
* :mod:`~kehu.demo.customers` (names from :mod:`~kehu.demo.naming`, draws from
  :mod:`~kehu.demo.draws`) and :mod:`~kehu.demo.orders`: the simulation itself;
* :mod:`~kehu.demo.generate`: :func:`generate_demo`, which writes the files;
* :mod:`~kehu.demo.open_app`: how to open the web application on them.
"""

from kehu.demo.catalogue import PRODUCT_HEADERS
from kehu.demo.customers import CUSTOMER_HEADERS
from kehu.demo.generate import generate_demo
from kehu.demo.market import AREA_TYPES, CHANNELS
from kehu.demo.open_app import DEMO_PASSWORD, DEMO_USER, open_app_message
from kehu.demo.orders import ORDER_HEADERS, STATUS_CANCELLED, STATUS_DONE, STATUS_RETURNED
from kehu.demo.seasons import SPRING_FESTIVAL

__all__ = [
    "AREA_TYPES",
    "CHANNELS",
    "CUSTOMER_HEADERS",
    "DEMO_PASSWORD",
    "DEMO_USER",
    "ORDER_HEADERS",
    "PRODUCT_HEADERS",
    "SPRING_FESTIVAL",
    "STATUS_CANCELLED",
    "STATUS_DONE",
    "STATUS_RETURNED",
    "generate_demo",
    "open_app_message",
]
