"""`kehu init`, `kehu users add`, `kehu load`, `kehu refresh` on a SQLite workspace."""

from __future__ import annotations

import pytest

from kehu.cli.main import main
from kehu.testing import write_sample


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.delenv("KEHU_DATABASE_URL", raising=False)
    monkeypatch.delenv("KEHU_SECRET_KEY", raising=False)
    monkeypatch.setenv("KEHU_PASSWORD", "password-123")
    return tmp_path / "ws"


def test_init_load_refresh(workspace, tmp_path, capsys):
    files = write_sample(tmp_path / "data")
    w = ["--workspace", str(workspace)]
    assert main(["init", *w]) == 0
    assert (workspace / "kehu.db").is_file() and (workspace / "secret.key").is_file()
    assert main(["init", *w]) == 0  # again: only upgrades
    assert main(["users", "add", "boss", "--role", "manager", *w]) == 0
    args = [str(files["orders"]), "-c", str(files["customers"]), "-p", str(files["products"])]
    assert main(["load", *args, *w]) == 0
    first = capsys.readouterr().out
    assert "订单：新增 11" in first
    assert main(["load", *args, *w]) == 0
    assert "订单：新增 0，更新 0，未变 11" in capsys.readouterr().out
    assert main(["refresh", "--as-of", "2024-07-01", *w]) == 0
    assert "4 customers classified as of 2024-07-01" in capsys.readouterr().out
    assert main(["db", "upgrade", *w]) == 0
    assert main(["users", "list", *w]) == 0
    assert "boss" in capsys.readouterr().out.split("\n")[-2]


def test_expected_errors_are_one_line(workspace, tmp_path, capsys):
    code = main(["load", str(tmp_path / "x.csv"), "--workspace", str(workspace)])
    err = capsys.readouterr().err
    assert code == 1 and "kehu init" in err and "Traceback" not in err
    main(["init", "--workspace", str(workspace)])
    capsys.readouterr()
    code = main(["users", "add", "x y", "--role", "rep", "--workspace", str(workspace)])
    err = capsys.readouterr().err
    assert code == 1 and "user name" in err
    code = main(["refresh", "--workspace", str(workspace)])
    err = capsys.readouterr().err
    assert code == 1 and "no orders" in err and "Traceback" not in err
    assert main(["load", "--workspace", str(workspace)]) == 1
    assert "nothing to load" in capsys.readouterr().err


def test_feedback_model_trained_from_the_command_line(workspace, tmp_path, capsys):
    from kehu.services.access import SYSTEM
    from kehu.services.feedback import record_feedback
    from kehu.store.engine import make_engine, session_factory

    w = ["--workspace", str(workspace)]
    assert main(["init", *w]) == 0
    assert main(["feedback", "train", *w]) == 1  # nothing labelled yet: one clear line
    assert "labelled feedback" in capsys.readouterr().err
    texts = {
        "delivery_speed": ["送货太慢了", "快递三天还没到", "delivery was late", "物流很慢"],
        "product_quality": ["质量很差", "产品坏了", "the product broke", "味道不对"],
        "price": ["价格太贵", "比别家贵", "too expensive", "涨价太多"],
    }
    with session_factory(make_engine(f"sqlite:///{workspace / 'kehu.db'}"))() as s:
        for category, items in texts.items():
            for text in items:
                record_feedback(s, actor=SYSTEM, workspace=workspace, text=text, category=category)
        record_feedback(s, actor=SYSTEM, workspace=workspace, text="送货太慢")
        s.commit()
    capsys.readouterr()
    assert main(["feedback", "train", "--folds", "3", *w]) == 0
    said = capsys.readouterr().out
    assert "trained on 12 labelled texts (delivery_speed 4, price 4, product_quality 4)" in said
    assert "3-fold macro-F1" in said
    assert (workspace / "feedback" / "category_model.json.gz").is_file()
    assert main(["feedback", "reclassify", *w]) == 0
    assert "1 feedback rows categorised again" in capsys.readouterr().out
