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
    # Pico CSS served from static/, not a CDN.
    sheets = page.evaluate("[...document.styleSheets].map(sheet => sheet.href)")
    assert any("/static/vendor/pico-" in href for href in sheets if href)
    assert failed == []
