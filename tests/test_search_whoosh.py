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


def test_merging_leaves_one_segment(open_index):
    search_index = open_index()
    for first in range(0, len(CORPUS), 2):
        search_index.add_or_update(CORPUS[first:first + 2])
    assert len(search_index._ix._segments()) == 3
    assert search_index.merge() is True
    assert len(search_index._ix._segments()) == 1
