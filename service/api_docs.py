"""The API's documentation page, `/docs`, served whole by the service.

Swagger UI's files come from the `fastapi-offline` package (pinned in the locks and
installed with the rest), so the page works without internet and asks no other host
for anything: the page, its script, style and icon, and the OpenAPI document all come
from this service, at paths below its root path.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from html import escape
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from service.errors import NotFound

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
SWAGGER_UI_FOLDER = Path(str(files("fastapi_offline") / "static"))
ASSET_CACHE_SECONDS = 3600
# Each file the page may load: its name under ASSETS_PATH and its media type.
SWAGGER_UI_ASSETS: dict[str, str] = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}
STARTER_NAME = "clubfund-docs.js"
# Starts Swagger UI on the document named by the page; kept out of the page so that the
# page has no inline script. No validator badge (it would call another host); the token
# pasted under "Authorize" is kept across reloads in this browser.
STARTER_SCRIPT = """\
"use strict";
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    persistAuthorization: true,
    showExtensions: true,
    showCommonExtensions: true,
    displayRequestDuration: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
});
"""
PAGE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>clubfund API</title>
<link rel="icon" type="image/png" href="{assets}/favicon.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/{starter}"></script>
</body>
</html>
"""

async def documentation_page(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    openapi_url = request.app.openapi_url or "/openapi.json"
    return HTMLResponse(PAGE.format(
        assets=escape(root + ASSETS_PATH), openapi=escape(root + openapi_url),
        starter=STARTER_NAME,
    ))


async def documentation_asset(request: Request) -> Response:
    asset_name = request.path_params["asset_name"]
    caching = {"Cache-Control": f"public, max-age={ASSET_CACHE_SECONDS}"}
    if asset_name == STARTER_NAME:
        return Response(STARTER_SCRIPT, media_type="text/javascript; charset=utf-8",
                        headers=caching)
    media_type = SWAGGER_UI_ASSETS.get(asset_name)
    if media_type is None:
        raise NotFound()
    return Response(swagger_ui_file(asset_name), media_type=media_type, headers=caching)


# Plain routes, as FastAPI's own /docs was: outside the OpenAPI document and the API's
# dependencies (a query string on the page is the browser's business).
router = APIRouter()
router.add_route(DOCS_PATH, documentation_page, methods=["GET"], include_in_schema=False)
router.add_route(ASSETS_PATH + "/{asset_name}", documentation_asset, methods=["GET"],
                 include_in_schema=False)


@cache
def swagger_ui_file(asset_name: str) -> bytes:
    """One of SWAGGER_UI_ASSETS, read once (about 1.7 MB in all)."""
    return (SWAGGER_UI_FOLDER / asset_name).read_bytes()


def document_example_nulls(app: FastAPI) -> None:
    """Give the schemas' examples back the nulls FastAPI drops from the whole OpenAPI
    document: a required property that may be null and is missing from an example (at
    any depth) is null there, so that each example is valid against its schema."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        models: dict[str, Any] = schema.get("components", {}).get("schemas", {})
        for model in models.values():
            for example in model.get("examples", []):
                restore_nulls(example, model, models)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def restore_nulls(value: Any, schema: dict[str, Any], models: dict[str, Any]) -> None:
    reference = schema.get("$ref")
    if isinstance(reference, str):
        schema = models.get(reference.rsplit("/", 1)[-1], {})
    choices = [choice for choice in schema.get("anyOf", []) if choice.get("type") != "null"]
    if len(choices) == 1:
        restore_nulls(value, choices[0], models)
        return
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            restore_nulls(item, schema["items"], models)
    if not isinstance(value, dict):
        return
    properties: dict[str, Any] = schema.get("properties", {})
    for name in schema.get("required", []):
        property_schema = properties.get(name, {})
        if name not in value and {"type": "null"} in property_schema.get("anyOf", []):
            value[name] = None
    for name, item in value.items():
        if name in properties:
            restore_nulls(item, properties[name], models)
