async def test_health_answers_without_dependencies(api):
    response = await api.request("GET", "/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_checks_database_and_temporal(api):
    response = await api.request("GET", "/ready")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "temporal": "ok"}
