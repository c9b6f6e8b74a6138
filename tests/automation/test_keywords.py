"""The keyword matcher: folding, longest match, many keywords in one pass."""

from hypothesis import given
from hypothesis import strategies as st

from kefu.automation.keywords import KeywordMatcher, fold
from kefu.core.textnorm import normalize


def test_matching_ignores_case_width_and_chinese_script():
    m = KeywordMatcher([(1, "Refund"), (2, "优惠券"), (3, "SALE")])
    assert m.match("I want a REFUND please").rule_id == 1
    assert m.match("ＲＥＦＵＮＤ？").rule_id == 1  # full-width letters
    assert m.match("有沒有優惠券").rule_id == 2  # traditional characters
    assert m.match("ｓａｌｅ").rule_id == 3
    assert m.match("nothing to see") is None


def test_traditional_keyword_matches_simplified_message():
    m = KeywordMatcher([(7, "發貨")])
    found = m.match("什么时候发货？")
    assert found is not None
    assert found.rule_id == 7
    assert "什么时候发货？"[found.start : found.end] == "发货"


def test_longest_match_wins_whatever_the_order():
    m = KeywordMatcher([(1, "tracking"), (2, "tracking not updated"), (3, "not")])
    assert m.match("my tracking not updated since monday").rule_id == 2
    assert m.match("my tracking is fine").rule_id == 1


def test_tie_goes_to_the_earliest_match_in_the_message():
    m = KeywordMatcher([(1, "refund"), (2, "cancel")])
    assert m.match("cancel or refund?").rule_id == 2


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_ascii_fast_path_equals_the_shared_normalisation(text):
    assert fold(text) == normalize(text)


@given(st.text(max_size=60))
def test_fast_fold_equals_the_shared_normalisation_for_any_text(text):
    assert fold(text) == normalize(text)


def test_fast_fold_on_mixed_scripts():
    text = "ＡＢＣ優惠券 Straße İ ﬁ 發貨"
    assert fold(text) == normalize(text)
