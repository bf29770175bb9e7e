"""Chinese segmentation shared by every search backend: index tokens, query terms, pinyin
keys and highlighting.

Indexed text is cut into *units*: each Chinese character is one unit, each run of Latin
letters or digits is one (lower-cased) unit, up to LATIN_UNIT_MAX of them; punctuation and
spaces are none. The index gets every unit, a bigram for each two Chinese characters in
consecutive units (so across punctuation: 《勾股定理》的 gives 理的) and jieba's search-mode
words of three or more characters (shorter words are already there as bigrams and characters). A token's position
is the index of the unit it starts at: tokens starting at the same character share a
position, like synonyms, and consecutive bigrams sit at consecutive positions, so a phrase of
bigrams matches exactly the texts that hold those characters in that order. (jieba's stock
tokenizer uses character offsets as positions, which breaks every phrase query.)
"""

import logging
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

USER_DICT = Path(__file__).with_name("data") / "userdict.txt"

_CHINESE = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# A Latin unit is cut every LATIN_UNIT_MAX characters, into consecutive units: a pasted link or code of
# thousands of letters would otherwise be one term longer than PostgreSQL takes (2,047 bytes).
LATIN_UNIT_MAX = 100
_RUNS = re.compile(f"([{_CHINESE}]+)|([0-9A-Za-z]{{1,{LATIN_UNIT_MAX}}})")
# Full-width letters and digits (Ｐｙｔｈｏｎ２０２２) read as ASCII; one character each,
# so offsets into the original text stay right.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
# The same, lower-cased: how Latin units are compared. Still one character for one.
_FOLDED = {**{code: chr(target).lower() for code, target in _HALF_WIDTH.items()},
           **{code: chr(code).lower() for code in range(ord("A"), ord("Z") + 1)}}
_QUOTED = re.compile(r'"([^"]*)"|“([^”]*)”')
# Pinyin keys longer than anyone types are cut, to keep the index's term list small.
PINYIN_KEY_MAX = 40

_jieba_lock = threading.Lock()
_jieba_tokenizer = None


def jieba_tokenizer():
    """The process's jieba tokenizer with our user dictionary, loaded quietly on first use."""
    global _jieba_tokenizer
    if _jieba_tokenizer is None:
        with _jieba_lock:
            if _jieba_tokenizer is None:
                import jieba  # deferred: importing jieba alone takes about 0.3 s

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                with USER_DICT.open("rb") as user_dict:
                    tokenizer.load_userdict(user_dict)  # loads the main dictionary first
                _jieba_tokenizer = tokenizer
    return _jieba_tokenizer


def load():
    """Load jieba's dictionary and pypinyin now (about a second together), so that no user's first
    search waits for them."""
    jieba_tokenizer()
    pinyin_keys("预热")


class Token(NamedTuple):
    text: str
    pos: int  # index of the unit the token starts at
    start: int  # character offsets into the text, for highlighting
    end: int


class QueryPart(NamedTuple):
    """One condition of a query; a document must meet every part of its query."""

    phrase: tuple[str, ...]  # terms that must occur at consecutive positions in one field
    word: str | None  # the part as one jieba word of 3+ characters: ranks whole-word matches first
    pinyin: str | None  # ASCII letters that may be pinyin: also match title pinyin keys by prefix


def _runs(text):
    """(is_chinese, run, offset) for each run of Chinese characters or of Latin letters/digits."""
    for match in _RUNS.finditer(text.translate(_HALF_WIDTH)):
        yield match.group(1) is not None, match.group(), match.start()


@lru_cache(maxsize=1024)
def tokens(text: str) -> tuple[Token, ...]:
    """Index tokens of ``text`` in position order (see the module docstring). Kept for recent texts:
    a document's title is indexed twice (in all text and on its own), vocabulary names on every
    empty search."""
    found = set()
    pos = 0
    previous = None  # the previous unit, when it is a Chinese character
    for chinese, run, offset in _runs(text):
        if not chinese:
            found.add(Token(run.lower(), pos, offset, offset + len(run)))
            pos += 1
            previous = None
            continue
        for i, char in enumerate(run):
            if previous:
                found.add(Token(previous.text + char, previous.pos, previous.start, offset + i + 1))
            previous = Token(char, pos + i, offset + i, offset + i + 1)
            found.add(previous)
        for word, start, end in jieba_tokenizer().tokenize(run, mode="search"):
            if end - start >= 3:
                found.add(Token(word, pos + start, offset + start, offset + end))
        pos += len(run)
    return tuple(sorted(found, key=lambda token: (token.pos, token.end, token.text)))


def _chain(text) -> tuple[str, ...]:
    """Terms that occur at consecutive positions exactly where the units of ``text`` occur,
    in this order, in indexed text."""
    units = []  # (unit, is_chinese)
    for chinese, run, _ in _runs(text):
        units += [(char, True) for char in run] if chinese else [(run.lower(), False)]
    terms = []
    for k, (unit, chinese) in enumerate(units):
        if chinese and k + 1 < len(units) and units[k + 1][1]:
            terms.append(unit + units[k + 1][0])
        elif not (chinese and k == len(units) - 1 and k > 0 and units[k - 1][1]):
            # A Latin word, a lone character, or a last character before a Latin word (to keep
            # the word at the next position); a final character is already in its bigram.
            terms.append(unit)
    return tuple(terms)


def _glue_single_characters(words):
    """Join one-character words to a neighbour: alone they would match nearly everything."""
    groups = []
    for word in words:
        if groups and (len(word) == 1 or len("".join(groups[-1])) == 1):
            groups[-1].append(word)
        else:
            groups.append([word])
    return groups


def _loose_parts(text):
    parts = []
    for chinese, run, _ in _runs(text):
        if not chinese:
            word = run.lower()
            pinyin = word if word.isalpha() and len(word) >= 2 else None
            parts.append(QueryPart((word,), None, pinyin))
            continue
        for group in _glue_single_characters(jieba_tokenizer().lcut(run)):
            joined = "".join(group)
            whole_word = joined if len(group) == 1 and len(joined) >= 3 else None
            parts.append(QueryPart(_chain(joined), whole_word, None))
    return parts


def query_terms(text: str) -> list[QueryPart]:
    """The parts of a user's query; a document matches when it meets every part.

    Text in quotes ("…" or “…”) is one exact phrase. Other text is cut by jieba into words
    (one-character words joined to a neighbour), each an exact phrase of bigrams: any query
    of two or more Chinese characters finds every document containing it, and only
    documents containing each of its words. Latin words and numbers match whole words,
    case-insensitively; ASCII letters also match title pinyin by prefix.
    """
    parts = []
    rest = 0
    for match in _QUOTED.finditer(text):
        parts += _loose_parts(text[rest : match.start()])
        phrase = _chain(match.group(1) or match.group(2) or "")
        if phrase:
            parts.append(QueryPart(phrase, None, None))
        rest = match.end()
    parts += _loose_parts(text[rest:])
    return list(dict.fromkeys(parts))


@lru_cache(maxsize=65536)
def _word_pinyin(word: str) -> tuple[str, str]:
    """(full pinyin, initials) of one Chinese word. Kept for every word seen: a district's titles
    share a vocabulary of a few thousand words, and pypinyin costs far more than the lookup."""
    from pypinyin import lazy_pinyin  # deferred: importing pypinyin takes about 0.3 s

    # One syllable per character, read within the word (so 重庆 is chongqing); a character
    # without pinyin contributes nothing.
    syllables = lazy_pinyin(word, errors=lambda chars: [""] * len(chars))
    return "".join(syllables), "".join(syllable[:1] for syllable in syllables)


class _PinyinWord(NamedTuple):
    full: str  # the word's full pinyin; a Latin word or number as it is, lower-cased
    initials: str
    chinese: bool


def _pinyin_words(title) -> list[_PinyinWord]:
    """The pinyin of each word of ``title``, in order."""
    words = []
    for chinese, run, _ in _runs(title):
        if chinese:
            words += [_PinyinWord(*_word_pinyin(word), True) for word in jieba_tokenizer().lcut(run)]
        else:
            words.append(_PinyinWord(run.lower(), run.lower(), False))
    return words


def pinyin_keys(title: str) -> tuple[str, str]:
    """Full pinyin and initials of a title: 爱国主义教育 → ("aiguozhuyijiaoyu", "agzyjy")."""
    words = _pinyin_words(title)
    return "".join(word.full for word in words), "".join(word.initials for word in words)


def pinyin_word_keys(title: str) -> list[tuple[str, str]]:
    """Pinyin keys (as ``pinyin_keys``) of the title from the start of each of its Chinese words,
    cut to PINYIN_KEY_MAX letters: a prefix search on them finds a title by the pinyin of any of
    its Chinese words onwards (勾股定理 in 八年级勾股定理 by "gougu" or "ggdl").

    None starts at a Latin word or number: the word itself is indexed and matched whole, and keys
    starting there (``unit3myschool…``) would be one per title, so a prefix search for an English
    word reads thousands of keys (measured at 100,000 records: 0.4 s for "pep")."""
    words = _pinyin_words(title)
    keys = []
    for i, word in enumerate(words):
        if not word.chinese:
            continue
        full = "".join(later.full for later in words[i:])[:PINYIN_KEY_MAX]
        initials = "".join(later.initials for later in words[i:])[:PINYIN_KEY_MAX]
        if full:
            keys.append((full, initials))
    return list(dict.fromkeys(keys))


def _occurrences(text: str, terms) -> list[tuple[int, int]]:
    """(start, end) of each place a term occurs in ``text``, in order: Chinese terms wherever their
    characters stand together, Latin words and numbers only as whole units, ignoring case and width.
    (Found directly rather than by cutting the text into tokens, which costs far more.)"""
    folded = text.translate(_FOLDED)
    found = []
    for term in set(terms):
        if not term:
            continue
        if term.isascii():
            found += [match.span() for match in re.finditer(rf"(?<![0-9a-z]){re.escape(term)}(?![0-9a-z])", folded)]
            continue
        start = folded.find(term)
        while start != -1:
            found.append((start, start + len(term)))
            start = folded.find(term, start + 1)
    return sorted(found)


def highlight(text: str, terms, max_chars: int | None = None) -> list[tuple[str, bool]]:
    """``text`` as (segment, is_match) pairs marking where ``terms`` occur, for the caller to
    escape and mark up. With ``max_chars``, a longer text is cut to an excerpt around its
    first match, with "…" where text was left out."""
    spans = []
    for start, stop in _occurrences(text, terms):
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], stop)
        else:
            spans.append([start, stop])
    begin, end = 0, len(text)
    if max_chars is not None and len(text) > max_chars:
        first = spans[0][0] if spans else 0
        begin = max(0, min(first - max_chars // 4, len(text) - max_chars))
        end = begin + max_chars
    segments = [("…", False)] if begin > 0 else []
    cursor = begin
    for start, stop in spans:
        start, stop = max(start, begin), min(stop, end)
        if start >= stop:
            continue
        if start > cursor:
            segments.append((text[cursor:start], False))
        segments.append((text[start:stop], True))
        cursor = stop
    if cursor < end:
        segments.append((text[cursor:end], False))
    if end < len(text):
        segments.append(("…", False))
    return segments
