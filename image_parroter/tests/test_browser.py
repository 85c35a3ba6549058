import pytest


@pytest.mark.browser
def test_home_page_renders_with_vendored_assets(page):
    failed = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("response", lambda response: response.status >= 400 and failed.append(response.url))
    page.goto("/")
    assert page.title().endswith("image_parroter")
    nav = page.get_by_role("navigation", name="Main")
    for name in ("Thumbnails", "Users", "Admin"):
        assert nav.get_by_role("link", name=name).is_visible()
    assert page.evaluate("typeof htmx") == "object"  # served from static/, not a CDN
    assert failed == []
