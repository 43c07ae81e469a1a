"""`/docs` is served whole by the service (it works without internet), and the OpenAPI
document it shows declares `Idempotency-Key` on every POST, a valid example on every
request body and the problem schema under `application/problem+json`."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import jsonschema_rs

from service.cli import openapi_document
from service.errors import PROBLEM_MEDIA_TYPE

MEDIA_TYPES_BY_SUFFIX = {".js": "text/javascript", ".css": "text/css", ".png": "image/png",
                         ".json": "application/json"}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


class LinkedUrls(HTMLParser):
    """Every URL a page makes the browser fetch: src, href and data-*-url attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is not None and (name in ("src", "href") or name.endswith("-url")):
                self.urls.append(value)


def document() -> dict[str, Any]:
    return json.loads(openapi_document())


def operations(method: str | None = None) -> list[tuple[str, str, dict[str, Any]]]:
    return [(verb, path, operation) for path, by_verb in document()["paths"].items()
            for verb, operation in by_verb.items() if method in (None, verb)]


def validator(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    return jsonschema_rs.validator_for({**schema, "components": components})


async def test_docs_and_everything_it_loads_come_from_the_service(anonymous):
    page = await anonymous.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert not re.search(r"https?://|//[a-z]", page.text, re.IGNORECASE), page.text
    links = LinkedUrls()
    links.feed(page.text)
    assert len(links.urls) >= 4, links.urls  # icon, style, Swagger UI, its starter, document
    for url in links.urls:
        assert url.startswith("/") and not url.startswith("//"), url
        response = await anonymous.get(url)
        assert response.status_code == 200, url
        suffix = url[url.rindex("."):]
        assert response.headers["content-type"].startswith(MEDIA_TYPES_BY_SUFFIX[suffix]), url
        assert response.headers["x-content-type-options"] == "nosniff"
        assert len(response.content) > 0
    starter = next(url for url in links.urls if url.endswith("clubfund-docs.js"))
    script = (await anonymous.get(starter)).text
    assert "validatorUrl: null" in script  # the validator badge would call another host
    assert not re.search(r"https?://", script)


async def test_an_unknown_documentation_file_is_a_problem(anonymous):
    response = await anonymous.get("/docs/assets/swagger-ui.js.map")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["code"] == "not_found"
    assert (await anonymous.get("/redoc")).status_code == 404


def test_every_post_declares_idempotency_key():
    posts = operations("post")
    assert len(posts) > 20
    for _, path, operation in posts:
        keys = [p for p in operation.get("parameters", []) if p["name"] == "Idempotency-Key"]
        assert len(keys) == 1, f"POST {path} does not declare Idempotency-Key"
        key = keys[0]
        assert key["in"] == "header"
        # The service takes it on every POST and requires it on batches only.
        assert key["required"] is path.endswith("/batches"), path
        assert "replays" in key["description"] and key["schema"]["maxLength"] == 200
        assert "idempotency_conflict" in operation["responses"]["409"]["description"], path


def test_every_request_body_has_examples_valid_against_its_schema():
    components = document()["components"]
    models = components["schemas"]
    checked = 0
    for verb, path, operation in operations():
        body = operation.get("requestBody")
        if body is None:
            continue
        assert list(body["content"]) == ["application/json"], path
        schema = body["content"]["application/json"]["schema"]
        references = [schema] if "$ref" in schema else [
            choice for choice in schema.get("anyOf", []) if "$ref" in choice]
        assert references, f"{verb.upper()} {path}: a body without a named schema"
        for reference in references:
            examples = models[reference["$ref"].rsplit("/", 1)[-1]].get("examples")
            assert examples, f"{verb.upper()} {path}: {reference['$ref']} has no example"
            check = validator(reference, components)
            for example in examples:
                assert check.is_valid(example), (path, example, [
                    str(error) for error in check.iter_errors(example)])
                checked += 1
    assert checked >= 20


def test_every_example_is_valid_and_dated_in_2026():
    components = document()["components"]
    checked = 0
    for name, schema in components["schemas"].items():
        check = validator({"$ref": f"#/components/schemas/{name}"}, components)
        for example in schema.get("examples", []):
            assert check.is_valid(example), (name, [str(e) for e in check.iter_errors(example)])
            for value in leaves(example):
                if isinstance(value, str) and DATE.match(value):
                    assert value.startswith("2026-"), (name, value)
                assert not isinstance(value, float), (name, value)  # money is never a float
            checked += 1
    assert checked >= 30


def leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in leaves(item)]
    return [value]


def test_every_problem_is_documented_as_problem_json():
    problem = {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
    counted = 0
    for verb, path, operation in operations():
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert response["content"] == {PROBLEM_MEDIA_TYPE: problem}, (
                    verb, path, status, response)
                counted += 1
    assert counted > 200
    details = document()["components"]["schemas"]["ProblemDetails"]
    assert set(details["required"]) == {"type", "title", "status", "detail", "code"}
    assert details["examples"]
