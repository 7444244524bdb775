"""Scoring commands: `score` (one text or a JSONL file), `eval` (policy metrics on labelled
mentions, or the hostility signal on TweetEval) and `train` (rebuild the shipped heads)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np

from monitor.app import App
from monitor.commands.output import fail, table
from monitor.config import ConfigError, Settings
from monitor.models import CATEGORIES, Assessment, ScoringInput

if TYPE_CHECKING:
    from monitor.scoring.embeddings import NpzEmbeddingCache
    from monitor.scoring.pipeline import Scorer

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_FILE = Path.home() / ".cache" / "mention-monitor" / "embeddings-{model}.npz"


def _settings(ctx: click.Context) -> Settings:
    app = ctx.find_object(App) or App(None)
    try:
        return app.settings()
    except ConfigError as exc:
        fail(exc.render())
        raise


def _cache(settings: Settings) -> NpzEmbeddingCache:
    """The file of cached vectors of the model `scoring.model` names (one file per model: a
    vector of one model means nothing to another)."""
    from monitor.scoring.embeddings import NpzEmbeddingCache, model_name

    return NpzEmbeddingCache(Path(str(CACHE_FILE).format(model=model_name(settings.scoring.model))))


def _scorer(settings: Settings, persistent_cache: bool = False) -> Scorer:
    from monitor.scoring import HeadsError, ModelLoadError, load_scorer

    click.echo("loading the embedding model…", err=True)
    cache = _cache(settings) if persistent_cache else None
    try:
        return load_scorer(settings.scoring, cache)
    except (ModelLoadError, HeadsError) as exc:
        fail(f"scoring: {exc}")
        raise


def _json(a: Assessment) -> dict[str, Any]:
    d = asdict(a)
    d["severity"] = a.severity.value
    return d


@click.command("score")
@click.argument("text", required=False)
@click.option("--media", is_flag=True, help="The mention carries a photo or video.")
@click.option("--title", default="", help="Title of the mention (optional).")
@click.option(
    "--file",
    "file_",
    type=click.Path(dir_okay=False, exists=True),
    help="JSON Lines of mentions (fields title, text, has_media) instead of TEXT.",
)
@click.pass_context
def score(ctx: click.Context, text: str | None, media: bool, title: str, file_: str | None) -> None:
    """Score TEXT (or every line of --file) and print the Assessment(s) as JSON."""
    if (text is None) == (file_ is None):
        fail("give either TEXT or --file F.jsonl")
    settings = _settings(ctx)
    if file_:
        from monitor.scoring.train import DataError, load_examples

        try:
            inputs = [e.input for e in load_examples(Path(file_))]
        except DataError as exc:
            fail(str(exc))
            raise
    else:
        inputs = [ScoringInput(title, text or "", media)]
    scorer = _scorer(settings)
    for a in scorer.assess(inputs):
        click.echo(json.dumps(_json(a), ensure_ascii=False))


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {
        "precision": round(p, 3),
        "recall": round(r, 3),
        "f1": round(f, 3),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def _relevance(examples: list[Any]) -> list[bool]:
    """Matcher verdicts with the bundled example academy (the one the labelled data is about)."""
    from monitor.config import load_settings
    from monitor.matching import Matcher, Watch

    example = load_settings(REPO_ROOT / "examples" / "ankermoor.toml", environ={})
    matcher = Matcher([Watch.from_config(a) for a in example.academies])
    return [bool(matcher.match(e.title, e.text)) for e in examples]


@click.command("eval")
@click.argument(
    "file_", metavar="FILE", required=False, type=click.Path(dir_okay=False, exists=True)
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option(
    "--cross-validate",
    "cv",
    type=int,
    default=0,
    metavar="K",
    help="Score FILE by K-fold: each fold by heads trained on the bundled data plus the "
    "other folds (FILE never in the folds it is scored on).",
)
@click.option(
    "--grouped",
    is_flag=True,
    help="Score each bundled dev set by heads trained on everything else (train.jsonl, the "
    "written data, the other dev set; near-copies removed): figures for unseen authors, next "
    "to pooled 5-fold CV over both dev sets.",
)
@click.option(
    "--without-written",
    is_flag=True,
    help="With --grouped: leave the written data (data/written/*.jsonl) out of training.",
)
@click.option(
    "--leave-out",
    "leave_out",
    multiple=True,
    metavar="WRITER",
    help="With --grouped: also score this written file (data/written/WRITER.jsonl) by heads "
    "trained on everything else, the dev sets included: one more column of figures for a "
    "writer the heads never saw. Repeatable.",
)
@click.option(
    "--pooled/--no-pooled",
    default=True,
    help="With --grouped: also run pooled 5-fold CV over both dev sets (the default).",
)
@click.option("--by-source", is_flag=True, help="Also break the figures down by source.")
@click.option("--by-language", is_flag=True, help="Also break the figures down by language.")
@click.option(
    "--tweeteval",
    type=click.Path(file_okay=False, exists=True),
    help="TweetEval folder (holding offensive/ and hate/) to check the hostility signal.",
)
@click.option("--task", type=click.Choice(["offensive", "hate"]), default="offensive")
@click.option("--split", type=click.Choice(["val", "test", "train"]), default="val")
@click.option(
    "--show-misses",
    "show_misses",
    type=click.Choice([*CATEGORIES, "urgent", "relevant"]),
    default=None,
    help="Also list the mentions this category (or urgent, or the matcher's relevance) missed "
    "or wrongly flagged, with the start of their text (end to end).",
)
@click.pass_context
def eval_(
    ctx: click.Context,
    file_: str | None,
    as_json: bool,
    cv: int,
    grouped: bool,
    without_written: bool,
    leave_out: tuple[str, ...],
    pooled: bool,
    by_source: bool,
    by_language: bool,
    tweeteval: str | None,
    task: str,
    split: str,
    show_misses: str | None,
) -> None:
    """Measure the scorer on labelled mentions (FILE, the shared JSON Lines format): per category
    precision/recall/F1 and macro-F1, relevance (matcher), urgent, calibration (ECE); or, with
    --tweeteval, the macro-F1 of the hostility signal on a TweetEval split; or, with --grouped,
    each bundled dev set scored by heads that never saw its authors.

    Category and urgent figures are end to end: a mention the matcher drops is scored as having
    no category and not urgent."""
    settings = _settings(ctx)
    if tweeteval:
        _eval_tweeteval(settings, Path(tweeteval), task, split, as_json)
        return
    breakdowns = [k for k, on in (("source", by_source), ("language", by_language)) if on]
    if leave_out and not grouped:
        fail("--leave-out works with --grouped")
    if leave_out and without_written:
        fail("--leave-out scores written files, so it cannot go with --without-written")
    if grouped:
        _eval_grouped(
            settings, not without_written, leave_out, pooled, as_json, breakdowns, show_misses
        )
        return
    if not file_:
        fail("give a labelled FILE, --grouped, or --tweeteval DIR")
    from monitor.scoring.grouped import decide, pooled_cv
    from monitor.scoring.train import BUNDLED_TRAIN, DataError, load_examples

    try:
        examples = load_examples(Path(str(file_)))
    except DataError as exc:
        fail(str(exc))
        raise
    scorer = _scorer(settings, persistent_cache=True)
    relevant = _relevance(examples)
    start = time.perf_counter()
    if cv:
        click.echo(f"cross-validating {len(examples)} mentions in {cv} folds…", err=True)
        base = load_examples(BUNDLED_TRAIN)
        scored = pooled_cv(scorer.embedder, scorer.cache, scorer.heads, base, examples, cv)
        decisions = decide(examples, scored, settings.scoring)
    else:
        overlap = _overlap(Path(str(file_)), examples)
        if overlap:
            click.echo(
                f"warning: {overlap} of these mentions were used to train the shipped heads;"
                " use --cross-validate K or --grouped for a fair figure",
                err=True,
            )
        decisions = _shipped_decisions(scorer, examples)
    _save_cache(scorer)
    seconds = time.perf_counter() - start
    result = _evaluate(examples, decisions, relevant, breakdowns)
    result["seconds"] = round(seconds, 2)
    result["cross_validated"] = cv
    result["model_version"] = scorer.model_version
    if as_json:
        click.echo(json.dumps(result))
        return
    how = f"cross-validated {cv}-fold" if cv else "shipped heads"
    _print_metrics(result, how)
    _print_rules(result["urgent_by_rule"], "urgent alerts by severity rule")
    if show_misses:
        _print_misses(show_misses, examples, decisions, relevant)


def _save_cache(scorer: Scorer) -> None:
    save = getattr(scorer.cache, "save", None)
    if callable(save):
        save()


def _shipped_decisions(scorer: Scorer, examples: list[Any]) -> list[Any]:
    from monitor.scoring.grouped import Decision

    assessed = scorer.assess([e.input for e in examples])
    return [
        Decision(set(a.categories), a.urgent, dict(a.probabilities), a.reason) for a in assessed
    ]


def _evaluate(
    examples: list[Any],
    decisions: list[Any],
    relevant: list[bool],
    breakdowns: list[str],
) -> dict[str, Any]:
    """End-to-end and scorer-alone figures, calibration, and the asked-for breakdowns."""
    from monitor.scoring.grouped import ece, rule_of
    from monitor.scoring.language import detect

    preds = [set(d.categories) for d in decisions]
    urg = [d.urgent for d in decisions]
    # Scorer alone: the mentions labelled relevant, whatever the matcher said.
    gold = [i for i, e in enumerate(examples) if e.relevant]
    alone = _metrics([examples[i] for i in gold], [preds[i] for i in gold], [urg[i] for i in gold])
    preds = [p if r else set() for p, r in zip(preds, relevant, strict=True)]
    urg = [u and r for u, r in zip(urg, relevant, strict=True)]
    result = _metrics(examples, preds, urg, relevant)
    result["scorer_only"] = {k: alone[k] for k in ("categories", "macro_f1", "urgent", "worst")}
    result["scorer_only"]["mentions"] = len(gold)
    result["mentions"] = len(examples)
    result["ece"] = {
        c: ece([decisions[i].probs[c] for i in gold], [c in examples[i].categories for i in gold])
        for c in CATEGORIES
    }
    # Which severity rule raised each urgent alert (end to end), and how often it was right.
    rules: dict[str, dict[str, int]] = {}
    for e, d, u in zip(examples, decisions, urg, strict=True):
        if u:
            r = rules.setdefault(rule_of(d.reason), {"alerts": 0, "correct": 0})
            r["alerts"] += 1
            r["correct"] += int(e.urgent)
    result["urgent_by_rule"] = dict(sorted(rules.items(), key=lambda kv: -kv[1]["alerts"]))
    keys = {
        "source": lambda e: e.source or "?",
        "language": lambda e: detect(f"{e.title} {e.text}"),
    }
    for name in breakdowns:
        by: dict[str, list[int]] = {}
        for i, e in enumerate(examples):
            by.setdefault(keys[name](e), []).append(i)
        rows = {}
        for value, idx in sorted(by.items(), key=lambda kv: -len(kv[1])):
            sub = _metrics(
                [examples[i] for i in idx],
                [preds[i] for i in idx],
                [urg[i] for i in idx],
                [relevant[i] for i in idx],
            )
            rows[value] = {
                "n": len(idx),
                "macro_f1_present": _present_macro(sub),
                "urgent": sub["urgent"],
                "relevant": sub["relevant"],
            }
        result[f"by_{name}"] = rows
    return result


def _present_macro(m: dict[str, Any]) -> float | None:
    """Macro-F1 over the categories that occur (gold or predicted) in a small subset."""
    f1s = [v["f1"] for v in m["categories"].values() if v["tp"] + v["fp"] + v["fn"]]
    return round(float(np.mean(f1s)), 3) if f1s else None


def _eval_grouped(
    settings: Settings,
    with_written: bool,
    leave_out: Sequence[str],
    with_pooled: bool,
    as_json: bool,
    breakdowns: list[str],
    show_misses: str | None,
) -> None:
    from monitor.scoring.grouped import decide, fit_and_score, pooled_cv
    from monitor.scoring.train import (
        BUNDLED_DEV,
        BUNDLED_DEV2,
        BUNDLED_TRAIN,
        DataError,
        load_examples,
        written_files,
    )

    files = {f.stem: f for f in written_files()} if with_written else {}
    unknown = [w for w in leave_out if w not in files]
    if unknown:
        fail(f"no written file {unknown[0]!r}; the writers are: {', '.join(sorted(files))}")
    try:
        dev_sets = {"dev": load_examples(BUNDLED_DEV), "dev2": load_examples(BUNDLED_DEV2)}
        by_writer = {w: load_examples(f) for w, f in files.items()}
        base = load_examples(BUNDLED_TRAIN)
    except DataError as exc:
        fail(str(exc))
        raise
    groups = dev_sets | {w: by_writer[w] for w in dict.fromkeys(leave_out)}

    def training(without: str) -> list[Any]:
        # One fixed order (train.jsonl, the writers as files sort, the dev sets) whatever is
        # left out: the heads' out-of-fold thresholds depend on row order, and a dev column
        # must not move because another writer was also scored.
        return [
            *base,
            *(e for w, ex in by_writer.items() if w != without for e in ex),
            *(e for d, ex in dev_sets.items() if d != without for e in ex),
        ]

    scorer = _scorer(settings, persistent_cache=True)
    written = sum(len(ex) for w, ex in by_writer.items() if w not in groups)
    out: dict[str, Any] = {"written_items": written, "model_version": scorer.model_version}
    misses = []
    for name, scored in groups.items():
        click.echo(f"scoring {name} by heads trained on everything else…", err=True)
        s = fit_and_score(scorer.embedder, scorer.cache, scorer.heads, training(name), scored)
        decisions = decide(scored, s, settings.scoring)
        relevant = _relevance(scored)
        r = _evaluate(scored, decisions, relevant, breakdowns)
        r["near_copies_removed"] = s.removed
        r["trained_on"] = s.trained_on
        out[f"-> {name}"] = r
        misses.append((name, scored, decisions, relevant))
    if with_pooled:
        pooled = [e for ex in dev_sets.values() for e in ex]
        click.echo("pooled 5-fold CV over both dev sets…", err=True)
        everything_written = [e for ex in by_writer.values() for e in ex]
        s = pooled_cv(
            scorer.embedder, scorer.cache, scorer.heads, base + everything_written, pooled, 5
        )
        out["pooled 5-fold"] = _evaluate(
            pooled, decide(pooled, s, settings.scoring), _relevance(pooled), []
        )
    _save_cache(scorer)
    if as_json:
        click.echo(json.dumps(out))
        return
    _print_grouped(out)
    for key in (k for k in out if k.startswith("-> ")):
        _print_rules(out[key]["urgent_by_rule"], f"{key}: urgent alerts by severity rule")
        for b in breakdowns:
            _print_breakdown(out[key][f"by_{b}"], f"{key} by {b}")
    if show_misses:
        for name, scored, decisions, relevant in misses:
            click.echo(f"\n[{name}]")
            _print_misses(show_misses, scored, decisions, relevant)


def _print_grouped(out: dict[str, Any]) -> None:
    cols = [k for k in out if k.startswith("-> ") or k.startswith("pooled")]
    click.echo(
        "== grouped: each set scored by heads trained on everything else "
        f"(written items in training besides the sets: {out['written_items']}); end to end "
        "unless marked"
    )
    rows: list[list[Any]] = []
    for c in CATEGORIES:
        rows.append(
            [f"{c} P/R/F1"]
            + [
                "{precision:.3f}/{recall:.3f}/{f1:.3f}".format(**out[k]["categories"][c])
                for k in cols
            ]
        )
    rows.append(["macro-F1"] + [f"{out[k]['macro_f1']:.3f}" for k in cols])
    rows.append(
        ["macro-F1 scorer alone"] + [f"{out[k]['scorer_only']['macro_f1']:.3f}" for k in cols]
    )
    rows.append(
        ["urgent P/R"] + ["{precision:.3f}/{recall:.3f}".format(**out[k]["urgent"]) for k in cols]
    )
    rows.append(
        ["urgent P/R scorer alone"]
        + ["{precision:.3f}/{recall:.3f}".format(**out[k]["scorer_only"]["urgent"]) for k in cols]
    )
    rows.append(
        ["relevant P/R"]
        + [
            "{precision:.3f}/{recall:.3f}".format(**out[k]["relevant"])
            if out[k]["relevant"]
            else "n/a"
            for k in cols
        ]
    )
    for c in CATEGORIES:
        rows.append([f"ECE {c}"] + [f"{out[k]['ece'][c]:.3f}" for k in cols])
    rows.append(["mentions"] + [str(out[k]["mentions"]) for k in cols])
    rows.append(
        ["near-copies removed"] + [str(out[k].get("near_copies_removed", "-")) for k in cols]
    )
    click.echo(table(["measure", *cols], rows))
    click.echo(f"model {out['model_version']} (hostility heads and prototypes)")


def _pr(v: dict[str, Any]) -> str:
    """precision/recall, or '-' where nothing was there to find or flag."""
    return "-" if v["tp"] + v["fp"] + v["fn"] == 0 else f"{v['precision']:.2f}/{v['recall']:.2f}"


def _print_breakdown(rows: dict[str, Any], heading: str) -> None:
    click.echo(f"\n== {heading} (end to end; macro-F1 over the categories present)")
    body = []
    for value, r in rows.items():
        m = r["macro_f1_present"]
        rel = r["relevant"]
        body.append(
            [
                value,
                r["n"],
                "-" if m is None else f"{m:.3f}",
                _pr(r["urgent"]),
                "-" if rel is None else _pr(rel),
            ]
        )
    click.echo(table([heading.split()[-1], "n", "macro-F1", "urgent P/R", "relevant P/R"], body))


def _print_rules(rows: dict[str, dict[str, int]], heading: str) -> None:
    click.echo(f"\n== {heading} (end to end; the first rule that matched)")
    body = [
        [rule, r["alerts"], r["correct"], f"{r['correct'] / r['alerts']:.3f}"]
        for rule, r in rows.items()
    ]
    click.echo(table(["rule", "alerts", "labelled urgent", "precision"], body))


def _print_misses(
    what: str, examples: list[Any], decisions: list[Any], relevant: list[bool]
) -> None:
    from monitor.scoring.grouped import rule_of

    click.echo(f"\n== {what}: missed (false negatives) and wrongly flagged (false positives)")
    for n, (e, d) in enumerate(zip(examples, decisions, strict=True)):
        rel = relevant[n]
        if what == "relevant":
            gold, got = e.relevant, rel
        elif what == "urgent":
            gold, got = e.urgent, d.urgent and rel
        else:
            gold, got = what in e.categories, what in d.categories and rel
        if gold == got:
            continue
        text = " ".join(f"{e.title} | {e.text}".split())
        why = f" [{rule_of(d.reason)}]" if what == "urgent" and got else ""
        click.echo(f"{'FN' if gold else 'FP'} {e.id}{why}: {text[:160]}")


def _overlap(path: Path, examples: list[Any]) -> int:
    """How many of FILE's mentions the shipped heads were trained on (by file name)."""
    from monitor.scoring.heads import load_heads

    names = set(load_heads().meta.get("data", []))
    return len(examples) if path.name in names else 0


def _metrics(
    examples: list[Any],
    preds: list[set[str]],
    urg: list[bool],
    relevant: list[bool] | None = None,
) -> dict[str, Any]:
    cats: dict[str, Any] = {}
    worst, worst_f1 = None, 2.0
    for c in CATEGORIES:
        tp = sum(1 for e, p in zip(examples, preds, strict=True) if c in e.categories and c in p)
        fp = sum(
            1 for e, p in zip(examples, preds, strict=True) if c not in e.categories and c in p
        )
        fn = sum(
            1 for e, p in zip(examples, preds, strict=True) if c in e.categories and c not in p
        )
        cats[c] = _prf(tp, fp, fn)
        if cats[c]["f1"] < worst_f1:
            worst, worst_f1 = c, cats[c]["f1"]
    macro = round(float(np.mean([cats[c]["f1"] for c in CATEGORIES])), 3)
    ut = sum(1 for e, u in zip(examples, urg, strict=True) if e.urgent and u)
    uf = sum(1 for e, u in zip(examples, urg, strict=True) if not e.urgent and u)
    un = sum(1 for e, u in zip(examples, urg, strict=True) if e.urgent and not u)
    out: dict[str, Any] = {"categories": cats, "macro_f1": macro, "urgent": _prf(ut, uf, un)}
    if relevant is not None:
        rt = sum(1 for e, r in zip(examples, relevant, strict=True) if e.relevant and r)
        rf = sum(1 for e, r in zip(examples, relevant, strict=True) if not e.relevant and r)
        rn = sum(1 for e, r in zip(examples, relevant, strict=True) if e.relevant and not r)
        out["relevant"] = _prf(rt, rf, rn)
    else:
        out["relevant"] = None
    assert worst is not None
    conf = {"tp": [], "fp": [], "fn": []}  # type: dict[str, list[str]]
    for e, p in zip(examples, preds, strict=True):
        gold, got = worst in e.categories, worst in p
        if gold and not got:
            conf["fn"].append(e.id)
        elif got and not gold:
            conf["fp"].append(e.id)
    out["worst"] = {"category": worst, "false_negatives": conf["fn"], "false_positives": conf["fp"]}
    return out


def _print_block(r: dict[str, Any], heading: str) -> None:
    click.echo(heading)
    rows = [
        [c, v["precision"], v["recall"], v["f1"], v["tp"], v["fp"], v["fn"]]
        for c, v in r["categories"].items()
    ]
    click.echo(table(["category", "precision", "recall", "F1", "tp", "fp", "fn"], rows))
    click.echo(f"macro-F1 {r['macro_f1']:.3f}   ({r['mentions']} mentions)")
    u = r["urgent"]
    click.echo(
        f"urgent    precision {u['precision']:.3f}  recall {u['recall']:.3f}  F1 {u['f1']:.3f}"
    )
    w = r["worst"]
    click.echo(
        f"worst category {w['category']}: missed {', '.join(w['false_negatives']) or '-'}; "
        f"wrongly flagged {', '.join(w['false_positives']) or '-'}"
    )


def _print_metrics(r: dict[str, Any], how: str) -> None:
    _print_block(
        r,
        f"== end to end ({how}): matcher first; a mention it drops has no category, not urgent",
    )
    if r["relevant"]:
        v = r["relevant"]
        click.echo(
            f"relevant  precision {v['precision']:.3f}  recall {v['recall']:.3f}  (matcher, "
            "examples/ankermoor.toml)"
        )
    else:
        click.echo("relevant  n/a: monitor.matching not available (all mentions scored)")
    click.echo("")
    _print_block(
        r["scorer_only"],
        f"== scorer alone ({how}): only the mentions labelled relevant, matcher bypassed",
    )
    click.echo("ECE " + "  ".join(f"{c} {v:.3f}" for c, v in r["ece"].items()))
    for key in (k for k in r if k.startswith("by_")):
        _print_breakdown(r[key], f"by {key[3:]}")
    click.echo(f"model {r['model_version']}")


def _eval_tweeteval(settings: Settings, folder: Path, task: str, split: str, as_json: bool) -> None:
    from sklearn.metrics import f1_score

    from monitor.scoring.train import DataError, load_tweeteval

    sub = folder / task if (folder / task).is_dir() else folder
    try:
        texts, y = load_tweeteval(sub, split)
    except DataError as exc:
        fail(str(exc))
        raise
    scorer = _scorer(settings)  # in-memory cache only: texts/s is measured honestly
    start = time.perf_counter()
    p = scorer.hostility(texts, task)
    seconds = time.perf_counter() - start
    thr = scorer.heads.hostility[task].text.threshold
    pred = p >= thr
    result = {
        "task": task,
        "split": split,
        "n": len(texts),
        "macro_f1": round(float(f1_score(y, pred, average="macro")), 4),
        "threshold": thr,
        "texts_per_s": round(len(texts) / seconds, 1),
    }
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(
            f"TweetEval {task} {split}: macro-F1 {result['macro_f1']:.4f} on {len(texts)} "
            f"tweets (threshold {thr:.2f}, chosen on train out-of-fold), "
            f"{result['texts_per_s']} texts/s"
        )


@click.command("train")
@click.option(
    "--data",
    "data",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True),
    help="Extra labelled JSON Lines to train on (repeatable). The bundled "
    "monitor/scoring/data/train.jsonl, mentions-dev.jsonl, mentions-dev2.jsonl and "
    "written/*.jsonl are always used.",
)
@click.option(
    "--tweeteval",
    type=click.Path(file_okay=False),
    default=None,
    show_default=True,
    help="TweetEval folder with offensive/ and hate/ train files (hostility heads). "
    "Default: the copy bundled in monitor/scoring/data/tweeteval.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the heads (default: the file the package ships).",
)
@click.option(
    "--keep-hostility",
    is_flag=True,
    help="Reuse the hostility heads of the shipped heads file (they are trained on TweetEval "
    "alone) and refit only the policy heads: minutes faster, same result for the same TweetEval.",
)
@click.option(
    "--with-corrections",
    is_flag=True,
    help="Refit the policy heads on the bundled data plus the stored corrections, check the "
    "result on a held-out part and write it to the heads in use (scoring.heads) only if it is "
    "not worse by more than that part's noise (a paired bootstrap); a running service picks it "
    "up without a restart.",
)
@click.pass_context
def train(
    ctx: click.Context,
    data: tuple[str, ...],
    tweeteval: str | None,
    out: str | None,
    keep_hostility: bool,
    with_corrections: bool,
) -> None:
    """Retrain the classifier heads from the data bundled in the repository (plus any --data)
    and report out-of-fold figures."""
    from monitor.scoring.train import BUNDLED_DEV, BUNDLED_TWEETEVAL

    settings = _settings(ctx)
    if with_corrections:
        _train_with_corrections(ctx, settings, out)
        return
    tweeteval = tweeteval or str(BUNDLED_TWEETEVAL)
    if not Path(tweeteval).is_dir():
        fail(f"no TweetEval folder at {tweeteval}; pass --tweeteval DIR")
    from monitor.scoring import ModelLoadError
    from monitor.scoring.embeddings import load_model
    from monitor.scoring.heads import DEFAULT_HEADS
    from monitor.scoring.train import (
        BUNDLED_DEV2,
        BUNDLED_TRAIN,
        DataError,
        train_all,
        written_files,
    )

    try:
        embedder = load_model(settings.scoring.model, settings.scoring.batch_size)
    except ModelLoadError as exc:
        fail(f"scoring: {exc}")
        raise
    cache = _cache(settings)
    files = list(
        dict.fromkeys(
            [BUNDLED_TRAIN, BUNDLED_DEV, BUNDLED_DEV2, *written_files(), *(Path(d) for d in data)]
        )
    )
    try:
        from monitor.scoring.heads import load_heads

        kept = load_heads() if keep_hostility else None
        heads, report = train_all(
            embedder,
            cache,
            files,
            Path(tweeteval),
            lambda m: click.echo(m, err=True),
            kept,
            private_files=[Path(d) for d in data],
        )
    except DataError as exc:
        fail(str(exc))
        raise
    finally:
        cache.save()
    target = Path(out) if out else DEFAULT_HEADS
    version = heads.save(target)
    click.echo(json.dumps(report, indent=2))
    click.echo(f"wrote {target} (heads {version})")


def _train_with_corrections(ctx: click.Context, settings: Settings, out: str | None) -> None:
    """`train --with-corrections` (monitor/scoring/retrain.py): exit 1, heads untouched, when
    the new heads are worse on the held-out part."""
    from monitor.scoring import HeadsError, ModelLoadError
    from monitor.scoring.embeddings import load_model
    from monitor.scoring.heads import load_heads
    from monitor.scoring.pipeline import heads_file
    from monitor.scoring.retrain import retrain
    from monitor.scoring.train import DataError

    app = ctx.find_object(App) or App(None)
    target = Path(out) if out else heads_file(settings.scoring)
    try:
        current = load_heads(heads_file(settings.scoring))
        embedder = load_model(settings.scoring.model, settings.scoring.batch_size)
    except (HeadsError, ModelLoadError) as exc:
        fail(f"scoring: {exc}")
        raise
    store = app.store()
    try:
        corrections = store.corrections()
    finally:
        store.close()
    cache = _cache(settings)
    try:
        outcome = retrain(
            embedder,
            cache,
            current,
            corrections,
            settings.scoring,
            app.now().strftime("%Y%m%d"),
            lambda m: click.echo(m, err=True),
        )
    except DataError as exc:
        fail(str(exc))
        raise
    finally:
        cache.save()
    click.echo(f"reference ({outcome.reference}): {outcome.reference_scores.line()}")
    click.echo(f"new heads:  {outcome.candidate_scores.line()}")
    if outcome.refused:
        fail(f"refused: the new heads are worse on the held-out part: {outcome.refused}", 1)
    if outcome.note:
        click.echo(f"note: {outcome.note}")
    version = outcome.candidate.save(target)
    click.echo(
        f"wrote {target} (heads {version}; {outcome.corrections_used} corrections trained, "
        f"{outcome.corrections_held} held out)"
    )


COMMANDS = [score, eval_, train]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(0)
