import pytest
from search_cases import CORPUS, SearchCases

from reslib.search.whoosh_backend import WhooshIndex


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    search_index = WhooshIndex(tmp_path_factory.mktemp("search"))
    search_index.add_or_update(CORPUS)
    yield search_index
    search_index.close()


@pytest.fixture
def open_index(tmp_path):
    opened = []

    def open_():
        opened.append(WhooshIndex(tmp_path))
        return opened[-1]

    yield open_
    for search_index in opened:
        search_index.close()


class TestWhoosh(SearchCases):
    pass
