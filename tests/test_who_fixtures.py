"""Speaker attribution, relations and figures on six invented pages in different quoting
styles (news wire, interview Q&A, forum @handles, nested quotes, a blog thread answering
by name, a survey report) and the two seeds, against hand-written expectations in
``fixtures/whosaid/*.who.json``. Prints precision and recall; ``python
tests/whosaid_score.py -v`` lists every miss."""

from __future__ import annotations

import pytest
from whosaid_score import FIXTURES, Score, score_all


@pytest.fixture(scope="module")
def scores() -> dict[str, dict[str, Score]]:
    return score_all()


def _total(scores: dict[str, dict[str, Score]], kind: str) -> Score:
    total = Score()
    for page in scores.values():
        total.add(page[kind])
    return total


def test_every_fixture_page_is_scored(scores: dict) -> None:
    assert len(scores) == len(list(FIXTURES.glob("*.who.json"))) >= 8


@pytest.mark.parametrize("kind, precision, recall", [
    ("speakers", 0.95, 0.90), ("relations", 0.90, 0.85), ("figures", 0.90, 0.90)])
def test_precision_and_recall(scores: dict, kind: str, precision: float, recall: float,
                              capsys: pytest.CaptureFixture) -> None:
    total = _total(scores, kind)
    with capsys.disabled():
        print(f"\n{kind}: precision {total.precision:.2f}, recall {total.recall:.2f} "
              f"({total.tp} right, {total.fp} wrong, {total.fn} missed)")
    assert total.precision >= precision, total.misses
    assert total.recall >= recall, total.misses


def test_no_page_invents_a_speaker(scores: dict) -> None:
    for name, page in scores.items():
        wrong = [m for m in page["speakers"].misses if m.startswith("wrong")]
        assert not wrong, (name, wrong)
