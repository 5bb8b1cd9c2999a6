async def test_the_landing_page_says_whether_the_instance_is_ready(client):
    r = await client.get("/")
    assert r.status_code == 200
    assert "text/html" in r.headers["content-type"]
    assert "Ready" in r.text
    assert 'href="/review"' in r.text
    assert 'href="/verify"' in r.text
    assert "<code>database</code>" in r.text
