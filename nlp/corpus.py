"""Building a debate's annotated corpus: merge drafts, drop near-duplicates, fix a split.

The held-out ``test`` split is assigned once and kept: rebuilding keeps every existing
example's split, so no one tunes on the test set by accident. Near-duplicates (same
words, Jaccard >= 0.7 over word sets) are grouped and a group never straddles the split.

Run ``python -m nlp.corpus merge OUT.jsonl DRAFT.jsonl...`` to merge drafts into a corpus
and ``python -m nlp.corpus datasheet`` to rewrite the counts in ``DATASHEET.md``.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

NEAR_DUPLICATE = 0.7
TEST_FRACTION = 0.2
_WORDS = re.compile(r"[a-z0-9]+")


def word_set(text: str) -> frozenset[str]:
    return frozenset(_WORDS.findall(text.lower().replace("’", "'")))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def near_duplicate_groups(texts: list[str], threshold: float = NEAR_DUPLICATE) -> list[int]:
    """A group number per text; texts whose word sets overlap >= threshold share one."""
    parent = list(range(len(texts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    sets = [word_set(t) for t in texts]
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            # cheap size bound before the set operation
            small, big = sorted((len(sets[i]), len(sets[j])))
            if big and small / big < threshold:
                continue
            if jaccard(sets[i], sets[j]) >= threshold:
                parent[find(j)] = find(i)
    return [find(i) for i in range(len(texts))]


def _stable(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def assign_splits(rows: list[dict], test_fraction: float = TEST_FRACTION) -> list[dict]:
    """Give every row without a ``split`` one, keeping near-duplicate groups together and
    each label's share of the test split close to ``test_fraction``."""
    groups = near_duplicate_groups([r["text"] for r in rows])
    fixed: dict[int, str] = {}
    for row, group in zip(rows, groups):
        if row.get("split"):
            fixed.setdefault(group, row["split"])
    totals = Counter(r["label"] for r in rows)
    in_test = Counter(r["label"] for r in rows if r.get("split") == "test")
    members: dict[int, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    for group in sorted(members, key=lambda g: _stable(rows[members[g][0]]["text"])):
        split = fixed.get(group)
        if split is None:
            labels = Counter(rows[i]["label"] for i in members[group])
            label = labels.most_common(1)[0][0]
            want = totals[label] * test_fraction
            split = "test" if in_test[label] + labels[label] <= want + 0.5 else "train"
            if split == "test":
                in_test.update(rows[i]["label"] for i in members[group])
        for i in members[group]:
            rows[i]["split"] = split
    return rows


def merge(drafts: Iterable[Path], existing: Path | None, prefix: str) -> list[dict]:
    """The existing corpus plus new draft rows (exact and near duplicates dropped)."""
    rows: list[dict] = []
    if existing is not None and existing.exists():
        rows = [json.loads(line) for line in existing.read_text("utf-8").splitlines() if line]
    seen = [word_set(r["text"]) for r in rows]
    held_out = [word_set(r["text"]) for r in rows if r.get("split") == "test"]
    numbers = [int(r["id"].rsplit("-", 1)[1]) for r in rows if r.get("id")]
    next_number = max(numbers, default=0) + 1
    dropped = 0
    for path in drafts:
        for line in Path(path).read_text("utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            words = word_set(row["text"])
            if any(jaccard(words, other) >= 0.9 for other in seen) or any(
                    jaccard(words, other) >= NEAR_DUPLICATE for other in held_out):
                dropped += 1  # a repeat, or too close to a held-out example to learn from
                continue
            seen.append(words)
            row = {"id": f"{prefix}-{next_number:04d}", "text": row["text"].strip(),
                   "label": row["label"], **({"context": row["context"]}
                                             if row.get("context") else {}),
                   "style": row.get("style", []),
                   "origin": row.get("origin") or f"written:{Path(path).stem}",
                   **({"note": row["note"]} if row.get("note") else {}),
                   # the guide's own examples and the canonical wordings are always learnt from
                   **({"split": "train"} if row.get("origin") in ("seed", "canonical")
                      else {})}
            next_number += 1
            rows.append(row)
    print(f"{dropped} near-identical draft rows dropped", file=sys.stderr)
    return rows


def merge_command(out: Path, drafts: list[Path]) -> None:
    prefix = out.stem.split("-")[0][:3] if "-" in out.stem else out.stem[:3]
    rows = assign_splits(merge(drafts, out, prefix))
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    counts = Counter((r["split"], r["label"]) for r in rows)
    print(f"{len(rows)} examples in {out}: " + ", ".join(
        f"{s}/{label}={n}" for (s, label), n in sorted(counts.items())), file=sys.stderr)


COUNTS_START = "<!-- counts: written by `python -m nlp.corpus datasheet` -->"
COUNTS_END = "<!-- end of counts -->"


def counts_markdown() -> str:
    """Label, split, origin and style counts of every shipped debate, as Markdown."""
    from nlp.debate import load_debate_file, shipped_dir

    lines = []
    for debate in (load_debate_file(p) for p in sorted(shipped_dir().glob("*.toml"))):
        examples = debate.examples()
        lines.append(f"### {debate.name}: {len(examples)} examples")
        lines.append("")
        lines.append("| label | train | test | total |")
        lines.append("|---|---:|---:|---:|")
        for label in debate.label_names:
            train = sum(e.label == label and e.split == "train" for e in examples)
            test = sum(e.label == label and e.split == "test" for e in examples)
            lines.append(f"| {label} | {train} | {test} | {train + test} |")
        lines.append(f"| all | {sum(e.split == 'train' for e in examples)} | "
                     f"{sum(e.split == 'test' for e in examples)} | {len(examples)} |")
        lines.append("")
        origins = Counter(e.origin.split(":")[0] for e in examples)
        styles = Counter(s for e in examples for s in e.style)
        with_context = sum(bool(e.context) for e in examples)
        words = sorted(len(e.text.split()) for e in examples)
        lines.append(f"Origins: {', '.join(f'{k} {v}' for k, v in origins.most_common())}. "
                     f"With context: {with_context}. Words per statement: median "
                     f"{words[len(words) // 2]}, shortest {words[0]}, longest {words[-1]}.")
        lines.append("")
        lines.append("Styles: " + ", ".join(f"{k} {v}" for k, v in styles.most_common()) + ".")
        lines.append("")
    return "\n".join(lines)


def datasheet_command() -> None:
    from nlp.debate import shipped_dir

    path = shipped_dir() / "DATASHEET.md"
    text = path.read_text("utf-8")
    head, _, rest = text.partition(COUNTS_START)
    _, _, tail = rest.partition(COUNTS_END)
    path.write_text(f"{head}{COUNTS_START}\n{counts_markdown()}\n{COUNTS_END}{tail}", "utf-8")
    print(f"counts written to {path}", file=sys.stderr)


def main(argv: list[str]) -> int:
    if argv[:1] == ["merge"] and len(argv) >= 3:
        merge_command(Path(argv[1]), [Path(a) for a in argv[2:]])
    elif argv[:1] == ["datasheet"]:
        datasheet_command()
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
