async def test_health_readiness_and_metrics(anonymous):
    assert (await anonymous.get("/healthz")).json() == {"status": "ok"}
    ready = await anonymous.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["schema_revision"]
    metrics = (await anonymous.get("/metrics")).text
    assert "clubfund_requests_total" in metrics and "clubfund_db_pool_size" in metrics
