"""What size buys: quality checks and scores, statistics, the blind judge, evaluation sets and the HTML report.

Pure, Qt-free and engine-free (an import contract keeps it so); nothing here downloads anything at run time.
How the Session, `lmscales eval` and the window call each piece:

Checks after every run (no reference needed), one `Check(name, passed, score, detail)` each, `detail` being
the tooltip text::

    from lmscales.core.quality.checks import CheckOptions, checks_passed, run_checks
    checks = run_checks("translate", source_text, output_text, CheckOptions(target_language="de"))
    checks = run_checks("summarize", document, output_text, CheckOptions(summary_length="bullets"))
    checks = run_checks("chat", prompt, output_text)  # constraints are read from the prompt
    checks_passed(checks)  # 0-100 share of the checks that could decide, or None: a per-item score

Scores against a set item's reference (0-100, each with its sacrebleu signature or rule)::

    from lmscales.core.quality.scores import reference_scores
    scores = reference_scores(item.task, output_text, reference=item.reference,
                              target_language=item.target_language, key_fact_list=item.key_facts,
                              answers=item.answers)

Evaluation sets (built in: "translate", "summarize", "chat"; "-smoke" for the CI subset; or a JSONL path)::

    from lmscales.core.quality.sets import EvalSetError, load_set
    evaluation_set = load_set("translate-smoke")  # EvalSetError names file, line and field

    # item.input goes to both sides through tasks.translate_messages(item.input, item.target_language,
    # item.source_language) / summarize_messages(item.input, item.summary_length) / chat_messages([], item.input)

The judge (the engine is given, never built here; the small local engine is refused)::

    from lmscales.core.quality.judge import Judge, JudgeContext, JudgeRefused
    judge = Judge.from_engine(judge_engine, is_contestant=is_large_side, offline=offline)  # reads engine.info
    verdict = judge.judge(JudgeContext("translate", item.input, target_language="de"), small_text, large_text)
    # verdict.outcome: "a" (small, the first answer given), "b" (large), "tie", "unparsed", "error"

Statistics::

    from lmscales.core.quality.stats import describe, paired_difference, wilson_interval, per_hundred
    describe(ttft_seconds)            # median, p90, mean, sd, n, cv, outliers (modified z > 3.5), unstable
    paired_difference(small, large)   # mean(small - large), seeded bootstrap 95 % interval over items

Results and report: fill `results.EvalResult` (sides, one `TaskResult` per task, `RunMetadata`); then
`results.task_figures(task)` gives the figures and the verdict sentence (for `--json`, via
`dataclasses.asdict`), and `eval_report.render_eval_report(result)` one self-contained HTML page (for `--report`).
"""
