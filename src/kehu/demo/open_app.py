"""How to open the web application on the demo data: the commands and where to sign in."""

from __future__ import annotations

import shlex
from pathlib import Path

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
