"""Reference scores against sacrebleu's own command line and hand-computed cases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lmscales.core.quality.scores import (
    answer_found,
    bleu,
    chrf_pp,
    corpus_bleu,
    corpus_chrf_pp,
    fact_found,
    key_facts,
    reference_scores,
    rouge_l,
    summary_score,
)

HYPOTHESES = [
    "The cat sat on the mat.",
    "Le train part à huit heures du matin.",
    "Die Brücke wurde 1998 eröffnet und ist 1,2 km lang.",
]
REFERENCES = [
    "The cat is sitting on the mat.",
    "Le train part à 8 heures du matin.",
    "Die Brücke wurde 1998 eröffnet; sie ist 1,2 Kilometer lang.",
]


def sacrebleu_cli(tmp_path: Path, *args: str) -> dict[str, object]:
    hyp, ref = tmp_path / "hyp.txt", tmp_path / "ref.txt"
    hyp.write_text("\n".join(HYPOTHESES) + "\n", encoding="utf-8")
    ref.write_text("\n".join(REFERENCES) + "\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "sacrebleu", str(ref), "-i", str(hyp), "-f", "json", "-w", "4", *args],
        capture_output=True, text=True, encoding="utf-8", check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_chrf_plus_plus_matches_sacrebleus_own_command_line(tmp_path: Path) -> None:
    cli = sacrebleu_cli(tmp_path, "-m", "chrf", "--chrf-word-order", "2")
    ours = corpus_chrf_pp(HYPOTHESES, REFERENCES)
    assert ours.value == pytest.approx(float(cli["score"]), abs=1e-4)  # type: ignore[arg-type]
    assert ours.signature == cli["signature"]


def test_bleu_matches_sacrebleus_own_command_line(tmp_path: Path) -> None:
    cli = sacrebleu_cli(tmp_path, "-m", "bleu")
    ours = corpus_bleu(HYPOTHESES, REFERENCES)
    assert ours.value == pytest.approx(float(cli["score"]), abs=1e-4)  # type: ignore[arg-type]
    assert ours.signature == cli["signature"]


def test_sentence_scores_carry_their_signature_and_rank_a_better_translation_higher() -> None:
    good = chrf_pp("Le chat dort sur le canapé.", ["Le chat dort sur le canapé."])
    poor = chrf_pp("Un chien mange dehors.", ["Le chat dort sur le canapé."])
    assert good.value == pytest.approx(100.0)
    assert poor.value < 30
    assert good.signature.startswith("nrefs:1|") and "nw:2" in good.signature
    assert bleu("Le chat dort sur le canapé.", ["Le chat dort sur le canapé."], "fr").value == pytest.approx(100.0)
    assert "tok:13a" in bleu("a", ["a"], "fr").signature and "tok:zh" in bleu("猫", ["猫"], "zh").signature


def test_rouge_l_on_a_known_pair() -> None:
    # reference 6 tokens, hypothesis 7, longest common subsequence "the cat was under the bed" = 6:
    # P = 6/7, R = 6/6, F = 2PR/(P+R) = 12/13
    score = rouge_l("the cat was found under the bed", "the cat was under the bed")
    assert score.value == pytest.approx(100 * 12 / 13)
    assert score.name == "ROUGE-L"


def test_summaries_not_in_english_are_scored_with_chrf() -> None:
    assert summary_score("Le conseil a voté le budget.", "Le conseil a adopté le budget.", "fr").name == "chrF"
    assert summary_score("The council voted the budget.", "The council passed the budget.", "en").name == "ROUGE-L"


@pytest.mark.parametrize(
    ("fact", "output", "found"),
    [
        ("1,200 workers", "About 1200 workers joined the strike.", True),
        ("1,200 workers", "About 1,300 workers joined the strike.", False),
        ("three bridges", "The city built 3 bridges.", True),
        ("Lisbon", "The meeting took place in lisbon.", True),
        ("opened in 1998", "It opened to traffic in 1998.", True),
        ("opened in 1998", "It opened in 1999.", False),
        ("São Paulo", "Flights to Sao Paulo resumed.", True),
        ("new bridge", "The bridges were new.", True),
    ],
)
def test_key_fact_matching_rule(fact: str, output: str, found: bool) -> None:
    assert fact_found(fact, output) is found


def test_key_facts_report_what_was_found_and_missed() -> None:
    facts = ["4.2 million euros", "March", "60,000 books"]
    result = key_facts("The council approved 4.2 million euros in March.", facts)
    assert result.found == ("4.2 million euros", "March")
    assert result.missed == ("60,000 books",)
    assert result.score.value == pytest.approx(200 / 3)
    assert "missed: 60,000 books" in result.score.detail


@pytest.mark.parametrize(
    ("output", "accepted", "value"),
    [
        ("The tallest mountain is Mount Everest, in Nepal.", ["Everest", "Mount Everest"], 100.0),
        ("The tallest mountain is Mount Olympus in Greece.", ["Everest"], 0.0),
        ("It is 8,849 metres high.", ["8849"], 100.0),
        ("It is 8,848 metres high.", ["8849"], 0.0),
        ("Canberra.", ["canberra"], 100.0),
        ("Not Canberra but Sydney", ["Sydney Harbour"], 0.0),
    ],
)
def test_short_answers_match_accepted_variants(output: str, accepted: list[str], value: float) -> None:
    assert answer_found(output, accepted).value == value


def test_reference_scores_per_task() -> None:
    translation = reference_scores("translate", "Hallo Welt", reference="Hallo, Welt!", target_language="de")
    assert [s.name for s in translation] == ["chrF++", "BLEU"]
    assert [s.name for s in reference_scores("summarize", "x", reference="y", key_fact_list=["x"])] \
        == ["ROUGE-L", "key facts"]
    assert [s.name for s in reference_scores("chat", "Lima", answers=["Lima"])] == ["answer"]
    with pytest.raises(ValueError, match="needs a reference"):
        reference_scores("translate", "x")
