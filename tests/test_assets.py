"""Static files are named by their content's digest in pages, and a browser keeps what it fetched that way."""
import hashlib
import re
from pathlib import Path

from reslib.assets import CACHED_FOR_SECONDS
from reslib.testing import login

STATIC = Path(__file__).parent.parent / "reslib" / "static"
PLUGIN_STATIC = Path(__file__).parent.parent / "plugins" / "sync_provincial" / "static"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _asset_urls(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/[^"]*static/[^"]+)"', page)


def test_pages_name_each_static_file_by_its_content(client, district):
    login(client, "teacher.a")
    urls = _asset_urls(client.get("/dashboard").get_data(as_text=True))
    assert f"/static/css/reslib.css?v={_digest(STATIC / 'css' / 'reslib.css')}" in urls
    assert f"/static/js/search.js?v={_digest(STATIC / 'js' / 'search.js')}" in urls
    assert len(urls) == len(set(urls))  # no file is linked twice


def test_a_file_fetched_by_its_digest_is_kept_for_a_year(client, district):
    for url in _asset_urls(client.get("/login").get_data(as_text=True)):
        with client.get(url) as response:
            assert response.status_code == 200
            assert response.cache_control.max_age == CACHED_FOR_SECONDS and response.cache_control.immutable
            assert response.cache_control.private and not response.cache_control.no_cache


def test_without_the_current_digest_the_browser_asks_again(client):
    for url in ("/static/css/reslib.css", "/static/css/reslib.css?v=0123456789ab"):
        with client.get(url) as response:
            assert response.status_code == 200 and response.cache_control.no_cache
            assert response.cache_control.max_age is None and not response.cache_control.immutable


def test_a_plugins_static_file_is_named_by_its_digest_too(client, district):
    from plugins.sync_provincial import rounds

    round_ = rounds.save_round(district.district_admin, None, {
        "title": "专题资源推荐", "platform": "国家中小学智慧教育平台", "year": "2026", "sections": ["德育"],
        "min_per_section": "0", "deadline": "2026-07-04"})
    login(client, "admin")
    page = client.get(f"/provincial/rounds/{round_.id}/quotas").get_data(as_text=True)
    url = f"/provincial/static/sync_provincial.css?v={_digest(PLUGIN_STATIC / 'sync_provincial.css')}"
    assert url in _asset_urls(page)
    with client.get(url) as response:
        assert response.cache_control.max_age == CACHED_FOR_SECONDS


def test_urls_follow_the_prefix_the_app_is_served_under(client):
    page = client.get("/login", environ_overrides={"SCRIPT_NAME": "/ziyuan"}).get_data(as_text=True)
    assert all(url.startswith("/ziyuan/static/") for url in _asset_urls(page))
    assert all(url.startswith("/static/") for url in _asset_urls(client.get("/login").get_data(as_text=True)))


def test_asset_urls_follow_where_the_app_is_mounted(client):
    """The URLs are kept once built, by mount point: a district serving reslib under a path prefix through its
    proxy (as well as at the root) gets each page's links under the prefix it was asked through."""
    at_root = _asset_urls(client.get("/login").get_data(as_text=True))
    mounted = _asset_urls(client.get("/login", base_url="http://localhost/ziyuan/").get_data(as_text=True))
    assert at_root and all(url.startswith("/static/") for url in at_root)
    assert mounted == ["/ziyuan" + url for url in at_root]
    assert _asset_urls(client.get("/login").get_data(as_text=True)) == at_root
