"""Feedback and surveys over HTTP: classification, labels, training, reports, NPS/CSAT."""

from __future__ import annotations

import pytest

from kehu.store.settings import StoreSettings

from .conftest import SECRET


@pytest.fixture
def api_settings(api_store, store_backend, tmp_path):
    """The API with its own workspace (the category list and model are written there)."""
    return StoreSettings(
        database_url=store_backend[1], secret_key=SECRET, environment="test", workspace=tmp_path
    )


def _error(r, status, code):
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    return r.json()["error"]


def test_feedback_classified_listed_and_reported(client, auth):
    h = auth["kefu"]
    posted = [
        {"customer_id": "C1", "channel": "phone", "rating": 1, "text": "菜不新鲜，都烂了"},
        {"customer_id": "C3", "channel": "app", "rating": 5, "text": "Fast delivery, thanks"},
        {"channel": "store", "rating": 4, "text": "送货很快"},
    ]
    got = []
    for body in posted:
        r = client.post("/feedback", json=body, headers=h)
        assert r.status_code == 201, r.text
        got.append(r.json())
    assert [(g["category"], g["sentiment"], g["lang"]) for g in got] == [
        ("freshness", "negative", "zh"),
        ("delivery_speed", "positive", "en"),
        ("delivery_speed", "positive", "zh"),
    ]
    report = client.get("/feedback/report?by=category", headers=auth["boss"]).json()
    assert [(r["category"], r["feedback"], r["negative"]) for r in report] == [
        ("delivery_speed", 2, 0),
        ("freshness", 1, 1),
    ]
    by_class = client.get("/feedback/report?by=class&by=sentiment", headers=auth["boss"]).json()
    assert {(r["class"], r["sentiment"]) for r in by_class} == {
        ("重要价值客户", "negative"),
        ("一般发展客户", "positive"),
        (None, "positive"),
    }
    # 王伟 sees only C1's feedback, in lists and reports
    assert client.get("/feedback", headers=auth["wang"]).json()["total"] == 1
    mine = client.get("/feedback/report", headers=auth["wang"]).json()
    assert [(r["category"], r["feedback"]) for r in mine] == [("freshness", 1)]
    _error(client.get(f"/feedback/{got[1]['id']}", headers=auth["wang"]), 404, "not_found")
    _error(
        client.post("/feedback", json={"text": "好"}, headers=auth["wang"]), 422, "validation_error"
    )
    _error(
        client.post("/feedback", json={"customer_id": "C1", "text": "x"}, headers=auth["ana"]),
        403,
        "forbidden",
    )
    _error(
        client.post("/feedback", json={"rating": 6, "text": "x"}, headers=h),
        422,
        "validation_error",
    )
    _error(client.get("/feedback/report?by=colour", headers=h), 422, "validation_error")
    view = client.get("/customers/C1", headers=auth["wang"]).json()
    assert view["feedback"][0]["category"] == "freshness"


def test_categories_labels_and_training(client, auth, api_settings):
    admin = auth["admin"]
    r = client.put(
        "/feedback/categories",
        json={"categories": {"hygiene": {"zh": ["不卫生"]}, "price": None}},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert "hygiene" in r.json() and "price" not in r.json()
    assert (api_settings.workspace / "feedback" / "categories.json").is_file()
    _error(
        client.put("/feedback/categories", json={"categories": {}}, headers=auth["wang"]),
        403,
        "forbidden",
    )
    r = client.post("/feedback", json={"customer_id": "C1", "text": "后厨不卫生"}, headers=admin)
    assert r.json()["category"] == "hygiene"
    _error(client.post("/feedback/model", headers=admin), 422, "validation_error")
    texts = {
        "packaging": ["箱子压扁了", "盒子都瘪了", "纸箱湿透了", "箱子破了个洞", "盒子压坏了"],
        "service_attitude": [
            "业务员不回消息",
            "业务员爱答不理",
            "业务员说话很冲",
            "业务员态度冷淡",
            "业务员不理人",
        ],
    }
    for label, items in texts.items():
        for text in items:
            row = client.post("/feedback", json={"customer_id": "C2", "text": text}, headers=admin)
            patched = client.patch(
                f"/feedback/{row.json()['id']}", json={"category": label}, headers=admin
            )
            assert patched.json()["category_source"] == "user"
    _error(
        client.patch(f"/feedback/{row.json()['id']}", json={"category": "taste"}, headers=admin),
        422,
        "validation_error",
    )
    trained = client.post("/feedback/model", headers=admin)
    assert trained.status_code == 201, trained.text
    assert trained.json()["labels"] == {"packaging": 5, "service_attitude": 5}
    new = client.post("/feedback", json={"customer_id": "C1", "text": "纸箱压扁了"}, headers=admin)
    assert (new.json()["category"], new.json()["category_source"]) == ("packaging", "model")
    assert client.delete("/feedback/model", headers=admin).status_code == 204
    again = client.post(
        "/feedback", json={"customer_id": "C1", "text": "纸箱压扁了"}, headers=admin
    )
    assert again.json()["category_source"] == "lexicon"


def test_surveys_nps_and_csat(client, auth):
    h = auth["kefu"]
    for code, score, day in (
        ("C1", 10, "2024-06-05"),
        ("C2", 6, "2024-06-06"),
        ("C3", 8, "2024-07-01"),
        ("C4", 9, "2024-07-02"),
        ("C4", 2, "2024-07-03"),
    ):
        r = client.post(
            "/surveys/answers",
            json={
                "survey": "nps",
                "score": score,
                "customer_id": code,
                "answered_at": f"{day}T10:00:00",
            },
            headers=h,
        )
        assert r.status_code == 201, r.text
    rows = client.get("/surveys/nps/scores?by=period", headers=auth["boss"]).json()
    # June: 10 (P), 6 (D) -> 0; July: 8, 9 (P), 2 (D) -> 0 of 3 -> 0
    assert [(r["period"], r["answers"], r["nps"]) for r in rows] == [
        ("2024-06", 2, 0.0),
        ("2024-07", 3, 0.0),
    ]
    by_class = client.get("/surveys/nps/scores?by=class", headers=auth["boss"]).json()
    assert {r["class"]: r["nps"] for r in by_class} == {
        "重要价值客户": 100.0,
        "一般挽留客户": -100.0,
        "一般发展客户": 0.0,
        "重要保持客户": 0.0,
    }
    for score in (5, 4, 2):
        client.post(
            "/surveys/answers",
            json={"survey": "csat", "score": score, "customer_id": "C1"},
            headers=h,
        )
    csat = client.get("/surveys/csat/scores?by=class", headers=auth["wang"]).json()
    assert [(r["class"], r["answers"]) for r in csat] == [("重要价值客户", 3)]
    assert csat[0]["csat"] == pytest.approx(200 / 3)
    _error(
        client.post("/surveys/answers", json={"survey": "csat", "score": 9}, headers=h),
        422,
        "validation_error",
    )
    _error(
        client.post("/surveys/answers", json={"survey": "ces", "score": 1}, headers=h),
        422,
        "validation_error",
    )
    _error(client.get("/surveys/ces/scores", headers=h), 422, "validation_error")
    _error(
        client.post(
            "/surveys/answers",
            json={"survey": "nps", "score": 5, "customer_id": "C3"},
            headers=auth["wang"],
        ),
        404,
        "not_found",
    )
    assert client.get("/surveys/answers?survey=csat", headers=auth["wang"]).json()["total"] == 3
    assert client.get("/surveys/answers", headers=auth["li"]).json()["total"] == 3
