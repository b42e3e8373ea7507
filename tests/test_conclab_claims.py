"""Tests for conclab.claims: one verdict line per claim, readable by the suite."""

import pytest

from conclab.claims import claim, parse


def test_a_claim_that_holds_prints_one_verdict_and_returns_true(capsys):
    assert claim("processes beat threads", 2 > 1, measured="0.2 s vs 0.4 s", busy="never shown") is True
    out = capsys.readouterr().out
    assert out == "✔ claim holds: processes beat threads (0.2 s vs 0.4 s)\n"
    assert parse(out) == [(True, "processes beat threads (0.2 s vs 0.4 s)")]


def test_a_failed_claim_says_so_with_advice_and_never_raises(capsys):
    assert claim("two cores busy", 1.08 > 1.5, measured="1.08 cores", busy="other programs took a core") is False
    out = capsys.readouterr().out
    assert out.startswith("✘ claim FAILED here: two cores busy (1.08 cores); other programs took a core")
    assert parse(out) == [(False, "two cores busy (1.08 cores); other programs took a core")]


def test_truthiness_is_what_counts(capsys):
    assert claim("non-empty list", [0]) is True
    assert claim("zero", 0) is False
    assert [ok for ok, _ in parse(capsys.readouterr().out)] == [True, False]


def test_parse_finds_verdicts_among_other_output():
    text = "a table\n✔ claim holds: one\nmore text\n✘ claim FAILED here: two\n  ✔ claim holds: indented is not a verdict\n"
    assert parse(text) == [(True, "one"), (False, "two")]


@pytest.mark.parametrize("bad", ["", "two\nlines"])
def test_a_claim_is_one_line(bad):
    with pytest.raises(ValueError):
        claim(bad, True)
