"""Whatever arrives, the answer is a JSON error in one shape, never a 500 or an HTML page."""

import pytest

from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def error_of(response, status):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] and error["message"] and isinstance(error["fields"], list)
    return error


def test_malformed_json_is_400(api):
    error = error_of(
        api.post(
            "/activity", content=b'{"user_id": 1,', headers={"Content-Type": "application/json"}
        ),
        400,
    )
    assert error["code"] == "malformed_json"
    error_of(
        api.post("/activity", content=b"\xff\xfe", headers={"Content-Type": "application/json"}),
        400,
    )
    error_of(
        api.post("/activity", content=b"[" * 50_000, headers={"Content-Type": "application/json"}),
        400,
    )


def test_another_content_type_is_415(api):
    error = error_of(api.post("/activity", data={"user_id": "1"}), 415)
    assert error["code"] == "unsupported_media_type"


def test_a_body_too_large_is_413_before_it_is_read(api):
    body = b'{"user_ids": [' + b"1," * 40_000 + b"1]}"

    error = error_of(
        api.post(
            "/consents/personalisation/check",
            content=body,
            headers={"Content-Type": "application/json"},
        ),
        413,
    )
    assert error["code"] == "body_too_large"


def test_unknown_paths_and_methods_are_json(api):
    assert error_of(api.get("/nothing/here"), 404)["code"] == "not_found"
    assert error_of(api.post("/nothing/here", json={}), 404)["code"] == "not_found"
    response = api.delete(f"/consents/personalisation/users/{UserFactory().pk}")
    assert error_of(response, 405)["code"] == "method_not_allowed"
    assert response.headers["Allow"] == "GET"


def test_the_schema_and_the_docs_are_served_without_a_cdn(anonymous):
    schema = anonymous.get("/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert set(paths) == {
        "/api/v1/consents/{purpose}/users/{user_id}",
        "/api/v1/consents/{purpose}/check",
        "/api/v1/disclosures",
        "/api/v1/activity",
        "/api/v1/notices/{key}",
    }
    docs = anonymous.get("/docs")
    assert docs.status_code == 200
    assert "/static/ninja/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
