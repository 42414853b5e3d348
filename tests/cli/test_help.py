"""Every command has help with an example, and expected errors are one line."""

from __future__ import annotations

import pytest
import typer.main

from kehu.cli.main import app, main


def _commands(group, prefix: tuple[str, ...] = ()):
    for name, cmd in group.commands.items():
        path = (*prefix, name)
        if hasattr(cmd, "commands"):  # a group of subcommands
            yield from _commands(cmd, path)
        yield path


COMMANDS = sorted(_commands(typer.main.get_command(app)))


def test_there_are_commands():
    names = {c[0] for c in COMMANDS}
    assert {"analyze", "classify", "rfm", "import", "demo", "runs", "explain"} <= names


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_has_an_example(command, capsys):
    assert main([*command, "--help"]) == 0
    text = capsys.readouterr().out
    assert "Example" in text, f"`kehu {' '.join(command)} --help` shows no example"


def test_missing_file_is_one_clear_line(tmp_path, capsys):
    code = main(["classify", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "x.parquet")])
    err = capsys.readouterr().err
    assert code == 1
    assert "nope.csv" in err
    assert "Traceback" not in err


def test_bad_as_of_is_one_clear_line(tmp_path, capsys):
    f = tmp_path / "o.csv"
    f.write_text("customer_id,order_time,amount\na,2024-01-01,1\n", encoding="utf-8")
    code = main(["classify", str(f), "--as-of", "yesterday", "--out", str(tmp_path / "x.parquet")])
    err = capsys.readouterr().err
    assert code == 1
    assert "--as-of" in err and "yesterday" in err
    assert "Traceback" not in err


def test_bad_config_is_one_clear_line(tmp_path, capsys):
    cfg = tmp_path / "k.yaml"
    cfg.write_text("classifiers:\n  rfm9: {}\n", encoding="utf-8")
    f = tmp_path / "o.csv"
    f.write_text("customer_id,order_time,amount\na,2024-01-01,1\n", encoding="utf-8")
    code = main(["classify", str(f), "--config", str(cfg), "--out", str(tmp_path / "x.parquet")])
    err = capsys.readouterr().err
    assert code == 1
    assert "rfm9" in err and "rfm8" in err


def test_usage_error_exit_2(capsys):
    assert main(["analyze"]) == 2


def test_report_re_renders_a_finished_analysis(tmp_path, capsys):
    from kehu.demo import generate_demo

    files = generate_demo(tmp_path / "data", customers=120, seed=2)
    out = tmp_path / "out"
    args = ["analyze", str(files["orders"]), "-c", str(files["customers"]), "--out", str(out)]
    assert main([*args, "--config", str(_no_predictions(tmp_path))]) == 0
    assert main(["report", str(out), "--lang", "en"]) == 0
    english = (out / "report_en.html").read_text(encoding="utf-8")
    assert "Customer classification report" in english
    assert "客户分类分析报告" in (out / "report.html").read_text(encoding="utf-8")
    assert main(["report", str(tmp_path / "nowhere")]) == 1
    assert "kehu analyze" in capsys.readouterr().err


def _no_predictions(folder):
    cfg = folder / "fast.yaml"
    cfg.write_text("predictions: false\n", encoding="utf-8")
    return cfg
