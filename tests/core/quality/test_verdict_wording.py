"""The verdict sentence reads right for one item and for one side (no "On these 1 sentence free.")."""

from __future__ import annotations

from lmscales.core.quality.results import ItemResult, SideCost, TaskResult, task_figures


def task(n: int, sides: tuple[str, ...], large_cost: float | None = 0.04) -> TaskResult:
    items = tuple(ItemResult(f"t{i}", f"source {i}", "reference", {side: "answer" for side in sides},
                             {side: {"chrF++": 40.0 + i} for side in sides}) for i in range(n))
    seconds = {"small": 0.1, "large": 0.5}
    return TaskResult(
        task="translate", set_name="translate", repeats=1, items=items,
        ttft={side: (seconds[side],) * n if side in sides else () for side in ("small", "large")},
        decode_rate={side: (50.0,) * n if side in sides else () for side in ("small", "large")},
        end_to_end={side: (1.0,) * n if side in sides else () for side in ("small", "large")},
        costs={"small": SideCost(0.0 if "small" in sides else None, None, None),
               "large": SideCost(large_cost if "large" in sides else None, None, None)},
    )


def test_one_side_on_one_item_says_that_only_it_ran() -> None:
    assert task_figures(task(1, ("small",))).verdict == (
        "Only the small model ran on this sentence (free: it runs on this computer), so there is nothing to "
        "compare it with.")


def test_one_side_on_several_items_names_them_in_the_plural() -> None:
    assert task_figures(task(3, ("small",))).verdict == (
        "Only the small model ran on these 3 sentences (free: it runs on this computer), so there is nothing to "
        "compare it with.")
    assert task_figures(task(2, ("large",))).verdict == (
        "Only the large model ran on these 2 sentences ($0.040 per 100 sentences), so there is nothing to compare "
        "it with.")


def test_both_sides_on_one_item_speak_of_this_sentence() -> None:
    verdict = task_figures(task(1, ("small", "large"))).verdict
    assert verdict.startswith("On this sentence the small model is 5.0× faster to the first token, free where the "
                              "large one costs $0.040 per 100 sentences"), verdict


def test_nothing_measured_says_so() -> None:
    assert task_figures(task(0, ())).verdict == "No sentence was measured, so there is no verdict."
