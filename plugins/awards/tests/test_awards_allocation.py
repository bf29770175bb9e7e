"""The seeded prize rule: at most 80% of entries win, split 1st:2nd:3rd = 3:3:4 by largest remainder."""
from fractions import Fraction
from itertools import product

import pytest

from plugins.awards.service import allocate_prizes, parse_ratio
from reslib.errors import ReslibError


def test_ten_entries_give_eight_prizes_and_the_tie_goes_to_the_lower_prize(app):
    # exact shares 2.4 / 2.4 / 3.2: the one prize left after flooring goes to 2nd, not 1st
    assert allocate_prizes(10) == {"first": 2, "second": 3, "third": 3, "none": 2}


def test_hundred_entries_split_exactly(app):
    assert allocate_prizes(100) == {"first": 24, "second": 24, "third": 32, "none": 20}


def test_no_entries_and_one_entry_give_no_prizes(app):
    assert allocate_prizes(0) == {"first": 0, "second": 0, "third": 0, "none": 0}
    assert allocate_prizes(1) == {"first": 0, "second": 0, "third": 0, "none": 1}


def test_first_prize_never_gains_from_rounding(app):
    # 1 winner at 1:1:1: a three-way tie, so the single prize is a 3rd prize
    assert allocate_prizes(1, "1:1:1", 100) == {"first": 0, "second": 0, "third": 1, "none": 0}
    assert allocate_prizes(5, "1:1:1", 100) == {"first": 1, "second": 2, "third": 2, "none": 0}


def test_full_width_colon_and_other_rules(app):
    assert allocate_prizes(50, "1：2：7", 60) == {"first": 3, "second": 6, "third": 21, "none": 20}
    assert parse_ratio(" 3 : 3 : 4 ") == (3, 3, 4)


@pytest.mark.parametrize("ratio", ["", "3:3", "3:3:4:1", "3:0:4", "3:-1:4", "a:b:c", "3.5:3:4", "3,3,4", "３:３:４", "1000:1:1"])
def test_bad_ratios_are_refused_in_chinese(app, ratio):
    with pytest.raises(ReslibError, match="三个正整数") as exc:
        allocate_prizes(10, ratio)
    assert exc.value.field == "prize_ratio"


@pytest.mark.parametrize("rate", [0, -5, 101, "abc", None, True])
def test_bad_max_rates_are_refused(app, rate):
    with pytest.raises(ReslibError, match="1 到 100"):
        allocate_prizes(10, "3:3:4", rate)


@pytest.mark.parametrize("entries", [-1, 2.5, "10", None, 1_000_001])
def test_entries_must_be_a_count(app, entries):
    with pytest.raises(ReslibError, match="0 到 1000000 之间的整数"):
        allocate_prizes(entries)


def test_properties_over_many_cases(app):
    ratios = ["3:3:4", "1:1:1", "1:2:7", "5:3:2", "2:3:5", "1:1:8", "7:2:1"]
    for entries, ratio, rate in product(range(0, 301, 7), ratios, (1, 33, 50, 80, 99, 100)):
        result = allocate_prizes(entries, ratio, rate)
        winners = entries * rate // 100
        assert result["first"] + result["second"] + result["third"] == winners
        assert winners <= entries * Fraction(rate, 100) and result["none"] == entries - winners
        parts = parse_ratio(ratio)
        for prize, part in zip(("first", "second", "third"), parts, strict=True):
            assert abs(result[prize] - Fraction(winners * part, sum(parts))) < 1, (entries, ratio, rate, result)
    # with the default rule no more than 80% ever win
    assert all(sum(v for k, v in allocate_prizes(n).items() if k != "none") <= n * 0.8 for n in range(500))
