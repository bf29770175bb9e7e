"""The hardening suite (``make test-hard``): every test in this folder is marked ``hard``.

What an attacker tried, kept from coming back: the authorization matrix over every route, hostile values in
every field, the API against its own OpenAPI document, a hostile upload and media corpus, and fuzzed parsers.
Tests elsewhere that belong to it (a browser probe, say) carry ``pytest.mark.hard`` themselves.
"""
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in Path(item.fspath).parents:
            item.add_marker(pytest.mark.hard)
