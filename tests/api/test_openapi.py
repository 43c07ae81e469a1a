"""openapi/openapi.json is the committed contract: it must match the app."""

from service.cli import OPENAPI_PATH, openapi_document


def test_committed_openapi_matches_the_app():
    assert OPENAPI_PATH.read_text() == openapi_document(), (
        "openapi/openapi.json is stale: run `clubfund openapi --write`"
    )


def test_every_route_declares_its_problems():
    import json

    document = json.loads(openapi_document())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path in ("/healthz", "/readyz", "/metrics"):
                continue
            problems = [s for s in operation["responses"] if s.startswith(("4", "5"))]
            assert problems, f"{method.upper()} {path} declares no problem responses"
