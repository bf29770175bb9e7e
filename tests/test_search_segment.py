import re
import subprocess
import sys
import textwrap

import pytest

from reslib.search.segment import highlight, pinyin_keys, pinyin_word_keys, query_terms, tokens

TEXTS = [
    "人教版八年级数学上册《勾股定理》的证明（第2课时）",
    "部编版九年级语文：古诗词鉴赏，一元二次方程的解法",
    "爱国主义教育主题班会 Python A01 2022年",
]


def _phrase_occurs(phrase, token_list):
    """Whether the phrase's terms occur at consecutive positions among ``token_list``."""
    at = {(token.text, token.pos) for token in token_list}
    starts = [pos for text, pos in at if text == phrase[0]]
    return any(all((term, start + i) in at for i, term in enumerate(phrase)) for start in starts)


def _matches(query, text):
    token_list = tokens(text)
    return all(_phrase_occurs(part.phrase, token_list) for part in query_terms(query))


def test_bigrams_single_characters_and_words_share_unit_positions():
    found = {(token.text, token.pos) for token in tokens("九年级勾股定理")}
    assert {("九", 0), ("九年", 0), ("九年级", 0), ("年级", 1), ("级勾", 2)} <= found
    assert {("勾股", 3), ("股定", 4), ("定理", 5), ("理", 6), ("勾股定理", 3)} <= found


def test_bigrams_bridge_punctuation_but_not_latin_words():
    found = {(token.text, token.pos) for token in tokens("《勾股》的 A 证明")}
    assert {("股的", 1), ("的", 2), ("a", 3), ("证明", 4)} <= found
    assert not any(text == "的证" for text, _ in found)


def test_positions_count_units_not_characters():
    # Punctuation and spaces are no unit; a Latin word is one unit however long.
    by_text = {token.text: token for token in tokens("数学， Python教程")}
    assert by_text["python"].pos == 2
    assert by_text["教程"].pos == 3
    assert (by_text["python"].start, by_text["python"].end) == (4, 10)


def test_latin_words_and_numbers_are_lower_cased_including_full_width():
    texts = {token.text for token in tokens("Python A01 ２０２２ＡＢ")}
    assert {"python", "a01", "2022ab"} <= texts


def test_a_long_latin_run_is_cut_into_consecutive_units():
    units = [(token.text, token.pos) for token in tokens("a" * 250 + " 数")]
    assert units[:3] == [("a" * 100, 0), ("a" * 100, 1), ("a" * 50, 2)] and ("数", 3) in units


def test_every_chinese_substring_query_matches_its_text():
    for text in TEXTS:
        for run in re.findall("[\u4e00-\u9fff]+", text):
            for start in range(len(run)):
                for end in range(start + 1, len(run) + 1):
                    assert _matches(run[start:end], text), (run[start:end], text)


@pytest.mark.parametrize("query", ["勾股", "人教", "年级", "勾", "勾股定理的证明", "python", "PYTHON", "2022", "a01"])
def test_queries_inside_longer_words_match(query):
    assert _matches(query, TEXTS[0] + TEXTS[2])


def test_query_words_must_each_occur_exactly():
    assert not _matches("勾股定理", "勾股 与 定理 分开讲")
    assert _matches("数学 勾股定理", TEXTS[0])
    assert _matches("八年级数学", "数学（八年级）")  # jieba words, in any order
    assert not _matches("九年级数学", TEXTS[0])


def test_quoted_phrase_matches_only_the_phrase():
    assert _matches('"勾股定理的证明"', TEXTS[0])
    assert _matches("“上册《勾股定理》”", TEXTS[0])  # punctuation inside a phrase is ignored
    assert not _matches('"数学勾股定理"', "数学课：勾股 定理")
    assert not _matches('"定理勾股"', TEXTS[0])
    assert _matches('"主题班会 python a01"', TEXTS[2])
    assert not _matches('"班会 a01"', TEXTS[2])


def test_query_parts():
    parts = query_terms("九年级 Python")
    assert [part.phrase for part in parts] == [("九年", "年级"), ("python",)]
    assert parts[0].word == "九年级"
    assert parts[1].pinyin == "python"
    assert query_terms("，。 ") == []


def test_pinyin_keys():
    assert pinyin_keys("爱国主义教育") == ("aiguozhuyijiaoyu", "agzyjy")
    keys = pinyin_word_keys("八年级勾股定理")
    assert keys[0] == pinyin_keys("八年级勾股定理")
    assert any(full.startswith("gougu") and initials.startswith("ggdl") for full, initials in keys)


def test_pinyin_keys_start_only_at_chinese_words():
    keys = pinyin_word_keys("人教PEP版 Unit 3 珍爱生命")
    assert [full for full, _ in keys] == ["renjiaopepbanunit3zhenaishengming", "banunit3zhenaishengming",
                                          "zhenaishengming", "shengming"]
    assert keys[0][1] == "rjpepbunit3zasm"
    assert pinyin_word_keys("Python 3") == []


def test_highlight_marks_merged_matches_as_plain_segments():
    assert highlight("人教版<b>八年级</b>勾股定理", {"年级", "勾股", "股定", "定理"}) == [
        ("人教版<b>八", False),
        ("年级", True),
        ("</b>", False),
        ("勾股定理", True),
    ]


def test_highlight_marks_latin_terms_only_as_whole_words_in_any_case_or_width():
    assert highlight("Python与PY2022、ｐｙ和Py", {"py"}) == [
        ("Python与PY2022、", False), ("ｐｙ", True), ("和", False), ("Py", True)]


def test_highlight_excerpt_around_the_first_match():
    text = "前" * 100 + "勾股定理" + "后" * 100
    segments = highlight(text, {"勾股"}, max_chars=40)
    assert segments[0] == ("…", False) and segments[-1] == ("…", False)
    assert ("勾股", True) in segments
    assert sum(len(s) for s, _ in segments[1:-1]) == 40


def test_jieba_loads_once_quietly_without_analyse():
    code = textwrap.dedent(
        """
        import sys, threading
        import jieba
        calls = []
        initialize = jieba.Tokenizer.initialize
        jieba.Tokenizer.initialize = lambda self, *a: calls.append(1) or initialize(self, *a)
        from reslib.search import segment
        assert not calls  # importing loads nothing
        threads = [threading.Thread(target=segment.tokens, args=("勾股定理",)) for _ in range(4)]
        for thread in threads: thread.start()
        for thread in threads: thread.join()
        segment.query_terms("九年级"); segment.pinyin_keys("爱国")
        print(len(calls), "jieba.analyse" in sys.modules)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "False"]
    assert done.stderr == ""
