"""Requests per token: past the limit, 429 with Retry-After; other tokens are not affected."""

import pytest

from tests.api.conftest import api_for, url

pytestmark = pytest.mark.django_db


def test_past_the_limit_429_with_retry_after(settings, agent1, agent2, meta_conn):
    settings.API_RATE_LIMIT = "3/min"
    api = api_for(agent1)
    assert [api.get(url()).status_code for _ in range(3)] == [200, 200, 200]
    refused = api.get(url())
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled" and refused.json()["detail"]
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert api_for(agent2).get(url()).status_code == 200  # counted per token
    assert api_for(agent1, name="outro").get(url()).status_code == 200  # and not per user


def test_an_empty_limit_turns_it_off(settings, agent1, meta_conn):
    settings.API_RATE_LIMIT = ""
    api = api_for(agent1)
    assert {api.get(url()).status_code for _ in range(5)} == {200}
