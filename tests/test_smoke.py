from __future__ import annotations

from tests.conftest import Env


async def test_health_and_me(env: Env) -> None:
    r = await env.client.get("/api/v1/health")
    assert r.status_code == 200
    r = await env.client.get("/api/v1/me", headers=env.auth("inspector_baiyun"))
    assert r.status_code == 200
    body = r.json()
    assert body["role"] == "inspector" and body["area_codes"] == ["v-baiyun"]
