"""Static files' URLs carry a digest of their content, so browsers keep them until the file changes.

Flask serves static files with ``Cache-Control: no-cache``: each page a browser opens asks again for every
stylesheet, script and icon on it, and on a school network each question is a round trip. A URL naming the
content's digest (``/static/css/reslib.css?v=3f2a…``) can be cached for a year instead: a new release
changes the digest, so the page names a new URL.
"""
import hashlib
from functools import cache
from pathlib import Path

from flask import current_app, request, url_for

CACHED_FOR_SECONDS = 365 * 24 * 3600
DIGEST_LENGTH = 12  # hex characters; only the release's own files are told apart
URLS_KEY = "reslib.asset_urls"


def asset_url(filename: str, endpoint: str = "static") -> str:
    """The URL of a static file of the app (``endpoint`` "static") or a blueprint ("awards.static")."""
    # Kept per app once built: every page names the same few files, and building a URL is a twentieth of a
    # small page's time. It depends only on where the app is mounted (the script root) besides the file.
    urls = current_app.extensions[URLS_KEY]
    key = (endpoint, filename, request.script_root)
    url = urls.get(key)
    if url is None:
        url = urls[key] = url_for(endpoint, filename=filename, v=_digest(_folder(endpoint), filename))
    return url


def _folder(endpoint: str) -> str:
    owner = current_app if endpoint == "static" else current_app.blueprints[endpoint.rsplit(".", 1)[0]]
    return owner.static_folder


@cache
def _digest(folder: str, filename: str) -> str:
    # Files are read once per process: a release replaces them and restarts the workers.
    return hashlib.sha256((Path(folder) / filename).read_bytes()).hexdigest()[:DIGEST_LENGTH]


def keep_versioned_files(response):  # an after_request handler
    """A static file asked for by its current digest may be kept for a year."""
    endpoint = request.endpoint or ""
    version = request.args.get("v")
    if response.status_code == 200 and version and (endpoint == "static" or endpoint.endswith(".static")):
        filename = request.view_args.get("filename", "")
        if version == _digest(_folder(endpoint), filename):
            response.cache_control.no_cache = None
            # Only the browser keeps it: the response may carry the session cookie, refreshed on any request.
            response.cache_control.private = True
            response.cache_control.max_age = CACHED_FOR_SECONDS
            response.cache_control.immutable = True
    return response


def init_app(app) -> None:
    app.extensions[URLS_KEY] = {}
    app.jinja_env.globals["asset_url"] = asset_url
    app.after_request(keep_versioned_files)
