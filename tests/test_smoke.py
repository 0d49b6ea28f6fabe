import pytest


@pytest.mark.django_db
def test_every_page_needs_login(client):
    response = client.get("/fabric/servers/")
    assert response.status_code == 302
    assert response.url.startswith("/login/")


@pytest.mark.django_db
def test_login_page_is_served(client):
    response = client.get("/login/")
    assert response.status_code == 200
    assert b"Sign in" in response.content
