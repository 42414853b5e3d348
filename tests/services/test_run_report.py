"""The analysis report of the store's current run: languages, who may have it, the cache."""

from __future__ import annotations

import datetime as dt

import pytest

from kehu.exceptions import NotFoundError
from kehu.report import outputs as run_report_mod
from kehu.report.outputs import report_path, run_report
from kehu.services.access import Actor
from kehu.services.refresh import refresh

AS_OF = dt.date(2024, 7, 1)
BOSS = Actor(user_id=None, username="boss", role="manager")
KEFU = Actor(user_id=None, username="kefu", role="service")
WANG = Actor(user_id=None, username="wang", role="rep", rep_name="王伟")


@pytest.fixture
def ws(tmp_path):
    """The workspace folder (the store's sample files are elsewhere in tmp_path)."""
    return tmp_path / "workspace"


@pytest.fixture
def store(loaded_store):
    refresh(loaded_store, as_of=AS_OF)
    return loaded_store


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("zh", ("客户分类分析报告", "重要价值客户", "一般挽留客户", "第 1 次分类运行")),
        (
            "en",
            (
                "Customer classification report",
                "Important value",
                "General win-back",
                "From run 1 of the team",
            ),
        ),
    ],
)
def test_the_current_runs_report_has_its_classes_in_the_language(store, ws, lang, words):
    with store() as s:
        html = run_report(s, actor=BOSS, run_id=1, lang=lang, workspace=ws).decode()
    assert html.startswith("<!DOCTYPE html>") or html.lstrip().lower().startswith("<!doctype")
    for word in words:
        assert word in html, word
    assert "2024-07-01" in html
    # per-class figures only: no customer's name or phone
    assert "杭州联华超市" not in html and "13812345678" not in html
    assert report_path(ws, 1, lang).is_file()


@pytest.mark.parametrize("actor", [WANG, Actor(user_id=None, username="x", role="nobody")])
def test_who_may_not_read_it_gets_the_missing_runs_answer(store, ws, actor):
    with store() as s:
        with pytest.raises(NotFoundError) as refused:
            run_report(s, actor=actor, run_id=1, lang="zh", workspace=ws)
        with pytest.raises(NotFoundError) as missing:
            run_report(s, actor=BOSS, run_id=99, lang="zh", workspace=ws)
    assert str(refused.value) == "no classification run 1"
    assert str(missing.value) == "no classification run 99"
    assert not (ws / "reports").exists()


def test_an_older_run_has_no_report(store, ws):
    with store() as s:
        run_report(s, actor=KEFU, run_id=1, lang="en", workspace=ws)
    refresh(store, as_of=AS_OF)
    with store() as s:
        with pytest.raises(NotFoundError, match="run 1 is not the current run"):
            run_report(s, actor=BOSS, run_id=1, lang="zh", workspace=ws)
        run_report(s, actor=BOSS, run_id=2, lang="zh", workspace=ws)
    # the old run's cached file went when the current run's report was written
    assert sorted(p.name for p in (ws / "reports").iterdir()) == ["run-2-report-zh.html"]


def test_a_second_call_reads_the_cache(store, ws, monkeypatch):
    with store() as s:
        first = run_report(s, actor=BOSS, run_id=1, lang="zh", workspace=ws)

    def no_render(*args, **kwargs):
        raise AssertionError("rendered again")

    monkeypatch.setattr(run_report_mod, "_render", no_render)
    with store() as s:
        assert run_report(s, actor=BOSS, run_id=1, lang="zh", workspace=ws) == first


def test_a_failed_write_leaves_no_file(store, ws, monkeypatch):
    # a lone surrogate cannot be written as UTF-8: the write fails half way
    monkeypatch.setattr(run_report_mod, "_render", lambda *args: "<html>" * 1000 + "\ud800")
    with store() as s, pytest.raises(UnicodeEncodeError):
        run_report(s, actor=BOSS, run_id=1, lang="zh", workspace=ws)
    assert [p for p in ws.rglob("*") if p.is_file()] == []
