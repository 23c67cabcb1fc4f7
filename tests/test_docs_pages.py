"""/docs and /redoc work without the internet: every script, style and icon they load is served here."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Env

_REFS = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'|spec-url="([^"]+)\"""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_reference_pages_load_only_from_this_server(env: Env, page: str) -> None:
    r = await env.client.get(page)
    assert r.status_code == 200
    html = r.text
    assert not re.search(r"https?://", html), re.findall(r"https?://[^\s\"'<>]+", html)
    refs = [next(g for g in m.groups() if g) for m in _REFS.finditer(html)]
    assert len(refs) >= 3, refs  # the script, the icon and the spec at least
    for ref in refs:
        assert ref.startswith("/"), ref
        loaded = await env.client.get(ref)
        assert loaded.status_code == 200, (ref, loaded.status_code)
        assert len(loaded.content) > 100, ref


async def test_swagger_ui_sends_the_spec_to_no_validator(env: Env) -> None:
    html = (await env.client.get("/docs")).text
    assert '"validatorUrl": null' in html
