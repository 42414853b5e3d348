"""Feedback and surveys: automatic category/sentiment, labels and training, reports, NPS, CSAT."""

from __future__ import annotations

import datetime as dt

import pytest

from kehu.exceptions import ConfigError, ForbiddenError, NotFoundError, SchemaError
from kehu.services import feedback as fb
from kehu.services.access import SYSTEM, Actor
from kehu.services.refresh import refresh
from kehu.store.models import Feedback

AS_OF = dt.date(2024, 7, 1)
WANG = Actor(user_id=None, username="wang", role="rep", rep_name="王伟")  # C1, C2
LI = Actor(user_id=None, username="li", role="rep", rep_name="李娜")  # C3, C4
ANALYST = Actor(user_id=None, username="ana", role="analyst")


@pytest.fixture
def store(loaded_store):
    refresh(loaded_store, as_of=AS_OF, revisit_rules=())
    return loaded_store


def _at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day)


def test_feedback_is_classified_when_recorded(store, tmp_path):
    with store() as s, s.begin():
        a = fb.record_feedback(
            s, actor=WANG, workspace=tmp_path, code="C1", channel="app", rating=5, text="送货很快"
        )
        b = fb.record_feedback(
            s,
            actor=SYSTEM,
            workspace=tmp_path,
            code="C3",
            rating=1,
            text="菜不新鲜",
            order_no="O301",
        )
        c = fb.record_feedback(
            s, actor=SYSTEM, workspace=tmp_path, text="The price is too expensive", rating=2
        )
        assert (a["category"], a["sentiment"], a["lang"]) == ("delivery_speed", "positive", "zh")
        assert (b["category"], b["sentiment"], b["order_id"]) == ("freshness", "negative", "O301")
        assert (c["customer_id"], c["category"], c["sentiment"], c["lang"]) == (
            None,
            "price",
            "negative",
            "en",
        )
        assert a["category_source"] == "lexicon" and a["sentiment_score"] > 0
        stored = s.get(Feedback, b["id"])
        assert (stored.category, stored.sentiment) == ("freshness", "negative")


def test_feedback_bad_input_and_scope(store, tmp_path):
    with store() as s:
        with pytest.raises(NotFoundError):
            fb.record_feedback(s, actor=LI, workspace=tmp_path, code="C1", text="好")
        with pytest.raises(SchemaError, match="customer_id is required"):
            fb.record_feedback(s, actor=LI, workspace=tmp_path, text="好")
        with pytest.raises(SchemaError, match="rating must be 1-5"):
            fb.record_feedback(s, actor=SYSTEM, workspace=tmp_path, code="C1", rating=9)
        with pytest.raises(SchemaError, match="a text or a rating"):
            fb.record_feedback(s, actor=SYSTEM, workspace=tmp_path, code="C1", text="  ")
        with pytest.raises(SchemaError, match="category 'taste'"):
            fb.record_feedback(s, actor=SYSTEM, workspace=tmp_path, text="x", category="taste")
        with pytest.raises(NotFoundError, match="no order 'O101' for this customer"):
            fb.record_feedback(
                s, actor=SYSTEM, workspace=tmp_path, code="C3", text="x", order_no="O101"
            )
        with pytest.raises(ForbiddenError):
            fb.record_feedback(s, actor=ANALYST, workspace=tmp_path, code="C1", text="好")
    with store() as s, s.begin():
        row = fb.record_feedback(s, actor=SYSTEM, workspace=tmp_path, code="C1", text="包装破损")
        with pytest.raises(NotFoundError):
            fb.get_feedback(s, actor=LI, feedback_id=row["id"])
        assert fb.list_feedback(s, actor=LI) == ([], 0)
        assert fb.list_feedback(s, actor=WANG)[1] == 1


def test_configurable_categories(store, tmp_path):
    spec = {"hygiene": {"zh": ["不卫生", "卫生"], "en": ["dirty"]}, "price": None}
    got = fb.set_categories(tmp_path, actor=SYSTEM, spec=spec)
    assert "hygiene" in got and "price" not in got
    assert fb.category_names(tmp_path)[-1] == "other"
    with store() as s, s.begin():
        row = fb.record_feedback(s, actor=SYSTEM, workspace=tmp_path, code="C1", text="后厨不卫生")
        assert row["category"] == "hygiene"
        with pytest.raises(SchemaError, match="category 'price'"):
            fb.update_feedback(
                s, actor=SYSTEM, workspace=tmp_path, feedback_id=row["id"], category="price"
            )
    with pytest.raises(ConfigError, match="zh and/or en"):
        fb.set_categories(tmp_path, actor=SYSTEM, spec={"x": {"fr": ["sale"]}})
    with pytest.raises(ForbiddenError):
        fb.set_categories(tmp_path, actor=WANG, spec=None)
    fb.set_categories(tmp_path, actor=SYSTEM, spec=None)
    assert "price" in fb.categories(tmp_path) and "hygiene" not in fb.categories(tmp_path)


#: texts the lexicon puts in "other"; the team labels them as packaging or service
LABELLED = [
    ("箱子压扁了", "packaging"),
    ("盒子都瘪了", "packaging"),
    ("纸箱湿透了", "packaging"),
    ("箱子破了个洞", "packaging"),
    ("盒子压坏了", "packaging"),
    ("纸箱变形", "packaging"),
    ("业务员从不回消息", "service_attitude"),
    ("业务员爱答不理", "service_attitude"),
    ("业务员说话很冲", "service_attitude"),
    ("业务员不回消息", "service_attitude"),
    ("业务员态度冷淡", "service_attitude"),
    ("业务员一直不理人", "service_attitude"),
]


def test_train_category_model_from_labels(store, tmp_path):
    with store() as s, s.begin():
        with pytest.raises(SchemaError, match="only 0 labelled"):
            fb.train_category_model(s, actor=SYSTEM, workspace=tmp_path)
        for text, label in LABELLED:
            row = fb.record_feedback(s, actor=SYSTEM, workspace=tmp_path, code="C1", text=text)
            fb.update_feedback(
                s, actor=SYSTEM, workspace=tmp_path, feedback_id=row["id"], category=label
            )
        with pytest.raises(ForbiddenError):
            fb.train_category_model(s, actor=WANG, workspace=tmp_path)
        got = fb.train_category_model(s, actor=SYSTEM, workspace=tmp_path)
    assert (got["examples"], got["labels"]) == (12, {"packaging": 6, "service_attitude": 6})
    assert (tmp_path / fb.MODEL_FILE).is_file()
    assert got["cross_validation"]["folds"] == 5
    assert 0.0 <= got["cross_validation"]["macro_f1"] <= 1.0
    with store() as s, s.begin():
        new = fb.record_feedback(s, actor=SYSTEM, workspace=tmp_path, code="C2", text="箱子压扁")
        assert (new["category"], new["category_source"]) == ("packaging", "model")
        # a person's label stays; other rows follow the model when reclassified
        assert fb.reclassify_feedback(s, actor=SYSTEM, workspace=tmp_path) == 1
    assert fb.delete_category_model(tmp_path, actor=SYSTEM) is True
    assert fb.category_model(tmp_path) is None


def test_feedback_report_by_category_class_and_period(store, tmp_path):
    rows = [
        ("C1", "送货很快", 5, "2024-06-03 10:00"),
        ("C1", "送货太慢了", 2, "2024-06-20 10:00"),
        ("C2", "菜不新鲜", 1, "2024-07-02 10:00"),
        ("C3", "菜很新鲜", None, "2024-07-05 10:00"),
        ("C4", "送货慢", 3, "2024-07-09 10:00"),
    ]
    with store() as s, s.begin():
        for code, text, rating, at in rows:
            fb.record_feedback(
                s,
                actor=SYSTEM,
                workspace=tmp_path,
                code=code,
                text=text,
                rating=rating,
                received_at=_at(at),
            )
    with store() as s:
        by_cat = fb.feedback_report(s, actor=SYSTEM, by=["category"])
        assert [(r["category"], r["feedback"], r["negative"]) for r in by_cat] == [
            ("delivery_speed", 3, 2),
            ("freshness", 2, 1),
        ]
        # ratings 5, 2, 3 -> 10/3; 1 and a missing rating -> 1
        assert by_cat[0]["avg_rating"] == pytest.approx(10 / 3)
        assert by_cat[1]["avg_rating"] == pytest.approx(1.0)
        assert by_cat[0]["negative_share"] == pytest.approx(2 / 3)
        by_month = fb.feedback_report(s, actor=SYSTEM, by=["period", "sentiment"], period="month")
        assert [(r["period"], r["sentiment"], r["feedback"]) for r in by_month] == [
            ("2024-06", "negative", 1),
            ("2024-06", "positive", 1),
            ("2024-07", "negative", 2),
            ("2024-07", "positive", 1),
        ]
        by_class = fb.feedback_report(s, actor=SYSTEM, by=["class"])
        assert {r["class"]: r["feedback"] for r in by_class} == {
            "重要价值客户": 2,
            "一般挽留客户": 1,
            "一般发展客户": 1,
            "重要保持客户": 1,
        }
        # a rep's report counts only their customers (C1, C2)
        mine = fb.feedback_report(s, actor=WANG, by=["category"])
        assert [(r["category"], r["feedback"]) for r in mine] == [
            ("delivery_speed", 2),
            ("freshness", 1),
        ]
        window = fb.feedback_report(
            s, actor=SYSTEM, by=["category"], since=dt.date(2024, 7, 1), until=dt.date(2024, 7, 6)
        )
        assert [(r["category"], r["feedback"]) for r in window] == [("freshness", 2)]
        with pytest.raises(SchemaError, match="cannot group by colour"):
            fb.feedback_report(s, actor=SYSTEM, by=["colour"])
        with pytest.raises(SchemaError, match="at least one"):
            fb.feedback_report(s, actor=SYSTEM, by=[])
        with pytest.raises(SchemaError, match="period 'decade'"):
            fb.feedback_report(s, actor=SYSTEM, by=["period"], period="decade")
        assert fb.feedback_report(s, actor=SYSTEM, by=["category"], since=dt.date(2030, 1, 1)) == []


#: NPS answers: June  C1 10, C2 9, C3 7, C4 3 -> P 2, D 1 of 4 -> NPS 25
#:              July  C1 6, C2 0, C3 9        -> P 1, D 2 of 3 -> NPS -33.3
NPS = [
    ("C1", 10, "2024-06-30 23:00"),  # a Sunday: week of Monday 2024-06-24
    ("C2", 9, "2024-06-10 09:00"),
    ("C3", 7, "2024-06-11 09:00"),
    ("C4", 3, "2024-06-12 09:00"),
    ("C1", 6, "2024-07-01 08:00"),  # a Monday: week of 2024-07-01
    ("C2", 0, "2024-07-15 09:00"),
    ("C3", 9, "2024-07-16 09:00"),
]


@pytest.fixture
def answered(store):
    with store() as s, s.begin():
        for code, score, at in NPS:
            fb.record_answer(
                s, actor=SYSTEM, survey="nps", score=score, code=code, answered_at=_at(at)
            )
        for score in (5, 4, 3, 1, 4):
            fb.record_answer(
                s,
                actor=SYSTEM,
                survey="csat",
                score=score,
                code="C1",
                answered_at=_at("2024-07-03 10:00"),
            )
    return store


def test_nps_over_time_hand_computed(answered):
    with answered() as s:
        rows = fb.survey_scores(s, actor=SYSTEM, survey="nps", by=["period"], period="month")
        assert [
            (r["period"], r["answers"], r["promoters"], r["passives"], r["detractors"])
            for r in rows
        ] == [
            ("2024-06", 4, 2, 1, 1),
            ("2024-07", 3, 1, 0, 2),
        ]
        assert rows[0]["nps"] == pytest.approx(25.0)
        assert rows[1]["nps"] == pytest.approx(-100 / 3)
        assert rows[0]["avg_score"] == pytest.approx(29 / 4)
        quarters = fb.survey_scores(s, actor=SYSTEM, survey="nps", by=["period"], period="quarter")
        assert [r["period"] for r in quarters] == ["2024-Q2", "2024-Q3"]
        weeks = fb.survey_scores(s, actor=SYSTEM, survey="nps", by=["period"], period="week")
        assert [(r["period"], r["answers"]) for r in weeks] == [
            ("2024-06-10", 3),
            ("2024-06-24", 1),
            ("2024-07-01", 1),
            ("2024-07-15", 2),
        ]
        days = fb.survey_scores(s, actor=SYSTEM, survey="nps", by=["period"], period="day")
        assert days[0]["period"] == "2024-06-10" and len(days) == 7
        years = fb.survey_scores(s, actor=SYSTEM, survey="nps", by=["period"], period="year")
        assert [(r["period"], r["answers"]) for r in years] == [("2024", 7)]
        # P 3, D 3 of 7 -> 0
        assert years[0]["nps"] == pytest.approx(0.0)


def test_nps_and_csat_per_class(answered):
    with answered() as s:
        rows = fb.survey_scores(s, actor=SYSTEM, survey="nps", by=["class"])
        got = {r["class"]: (r["answers"], r["nps"]) for r in rows}
        assert got == {
            "重要价值客户": (2, pytest.approx(0.0)),  # C1: 10, 6
            "一般挽留客户": (2, pytest.approx(0.0)),  # C2: 9, 0
            "一般发展客户": (2, pytest.approx(50.0)),  # C3: 7, 9
            "重要保持客户": (1, pytest.approx(-100.0)),  # C4: 3
        }
        csat = fb.survey_scores(s, actor=SYSTEM, survey="csat", by=["class", "period"])
        assert len(csat) == 1
        # 5, 4, 3, 1, 4: three of five are 4-5
        assert (csat[0]["class"], csat[0]["period"], csat[0]["satisfied"]) == (
            "重要价值客户",
            "2024-07",
            3,
        )
        assert csat[0]["csat"] == pytest.approx(60.0)
        assert csat[0]["avg_score"] == pytest.approx(17 / 5)
        mine = fb.survey_scores(s, actor=LI, survey="nps", by=["period"])
        # 李娜's C3 and C4: June 7, 3 -> P 0 D 1 of 2; July 9 -> 100
        assert [(r["period"], r["nps"]) for r in mine] == [("2024-06", -50.0), ("2024-07", 100.0)]


def test_survey_bad_input(store):
    with store() as s:
        with pytest.raises(SchemaError, match="nps score must be 0-10"):
            fb.record_answer(s, actor=SYSTEM, survey="nps", score=11)
        with pytest.raises(SchemaError, match="csat score must be 1-5"):
            fb.record_answer(s, actor=SYSTEM, survey="csat", score=0)
        with pytest.raises(SchemaError, match="survey 'ces'"):
            fb.record_answer(s, actor=SYSTEM, survey="ces", score=1)
        with pytest.raises(SchemaError, match="survey 'ces'"):
            fb.survey_scores(s, actor=SYSTEM, survey="ces")
        with pytest.raises(NotFoundError):
            fb.record_answer(s, actor=LI, survey="nps", score=5, code="C1")
        with pytest.raises(ForbiddenError):
            fb.record_answer(s, actor=ANALYST, survey="nps", score=5, code="C1")
        with pytest.raises(SchemaError, match="classifier 'grade'"):
            fb.survey_scores(s, actor=SYSTEM, survey="nps", by=["class"], classifier="grade")
        assert fb.survey_scores(s, actor=SYSTEM, survey="nps") == []
        assert fb.list_answers(s, actor=SYSTEM) == ([], 0)
