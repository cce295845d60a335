import httpx

from api.app import create_app
from integrations.temporal.front_door import TemporalConnector


async def test_health_answers_without_dependencies(api):
    response = await api.request("GET", "/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_checks_database_and_temporal(api):
    response = await api.request("GET", "/ready")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "temporal": "ok"}


async def test_ready_is_503_and_names_temporal_when_it_is_down(db, settings, engine):
    async def unreachable():
        raise ConnectionError("nothing listens there")

    app = create_app(settings, engine, TemporalConnector(unreachable))
    app.state.sessions = db
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.get("/ready")
        assert response.status_code == 503
        assert response.json()["checks"] == {"database": "ok", "temporal": "unreachable"}
        assert (await http.get("/health")).status_code == 200
