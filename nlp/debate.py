"""Debates as data: load a debate's question, labels, cue patterns and annotated examples.

A debate is a TOML file (see ``nlp/debates/outcome-function.toml``). cxkb looks in the
folder given by ``--debates-dir`` or ``$CXKB_DEBATES`` first, then in the debates shipped
with the package, so a user adds or overrides a debate without touching the install.
Nothing in cxkb's code names a label of a particular debate.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from kb.errors import CxkbError
from kb.settings import get_setting


class DebateError(CxkbError):
    """A debate file is missing or malformed."""


@dataclass(frozen=True)
class Label:
    name: str
    description: str
    cues: tuple[str | tuple[dict, ...], ...] = ()


@dataclass(frozen=True)
class Example:
    """One annotated statement: its text, label, optional context and split."""

    id: str
    text: str
    label: str
    context: str | None = None
    split: str = "train"
    style: tuple[str, ...] = ()
    origin: str = ""


@dataclass(frozen=True)
class Debate:
    name: str
    question: str
    labels: tuple[Label, ...]
    default_label: str
    path: Path
    examples_path: Path | None
    topic_terms: tuple[str, ...] = field(default=())
    # when a comment or person holds two labels in strength, what they add up to
    combine: tuple[tuple[frozenset[str], str], ...] = field(default=())

    @property
    def label_names(self) -> tuple[str, ...]:
        return tuple(label.name for label in self.labels)

    def examples(self, split: str | None = None) -> list[Example]:
        """The annotated examples, all or one split (``train`` or ``test``)."""
        if self.examples_path is None:
            return []
        rows = read_examples(self.examples_path, self.label_names)
        return [row for row in rows if split is None or row.split == split]

    def fingerprint(self) -> str:
        """A hash of the debate file and its examples: models record what they learnt from."""
        digest = hashlib.sha256(self.path.read_bytes())
        if self.examples_path is not None and self.examples_path.exists():
            digest.update(self.examples_path.read_bytes())
        return digest.hexdigest()[:16]


def read_examples(path: Path, labels: tuple[str, ...]) -> list[Example]:
    """Read a JSONL file of annotated examples; a bad line is an error naming the line."""
    examples = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text, label = row["text"], row["label"]
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise DebateError(f"{path}:{number}: not an example "
                                  f"(need JSON with text and label): {error}") from None
            if label not in labels:
                raise DebateError(f"{path}:{number}: label {label!r} is not one of "
                                  f"{', '.join(labels)}")
            examples.append(Example(
                id=str(row.get("id") or f"{path.stem}:{number}"), text=text, label=label,
                context=row.get("context") or None, split=row.get("split", "train"),
                style=tuple(row.get("style") or ()), origin=row.get("origin", ""),
            ))
    return examples


def shipped_dir() -> Path:
    """The folder of debates that ship with cxkb."""
    return Path(str(resources.files("nlp.debates")))


def search_dirs(debates_dir: str | Path | None = None) -> list[Path]:
    """Where debates are looked up, first match wins: the user's folder, then the shipped."""
    dirs = []
    user = debates_dir or get_setting("debates_dir")
    if user:
        dirs.append(Path(user).expanduser())
    dirs.append(shipped_dir())
    return dirs


def load_debate_file(path: Path) -> Debate:
    """Parse one debate file; errors name the file and what is wrong."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise DebateError(f"{path}: cannot read debate: {error}") from None
    try:
        labels = tuple(
            Label(name=item["name"], description=item.get("description", "").strip(),
                  cues=tuple(_cue(c, path) for c in item.get("cues", [])))
            for item in data["labels"]
        )
        name, question = data["name"], data["question"]
    except (KeyError, TypeError) as error:
        raise DebateError(f"{path}: a debate needs name, question and [[labels]] "
                          f"each with a name (missing {error})") from None
    if len(labels) < 2:
        raise DebateError(f"{path}: a debate needs at least two labels")
    names = [label.name for label in labels]
    if len(set(names)) != len(names):
        raise DebateError(f"{path}: duplicate label names in {names}")
    default = data.get("default_label", names[-1])
    if default not in names:
        raise DebateError(f"{path}: default_label {default!r} is not one of its labels")
    examples = data.get("examples")
    combine = []
    for rule in data.get("combine", []):
        parts, gives = frozenset(rule.get("labels", [])), rule.get("gives")
        if len(parts) != 2 or not parts <= set(names) or gives not in names:
            raise DebateError(f"{path}: each [[combine]] needs two labels and a label they "
                              f"give, all of this debate (got {rule!r})")
        combine.append((parts, gives))
    return Debate(
        name=name, question=question, labels=labels, default_label=default, path=path,
        examples_path=(path.parent / examples) if examples else None,
        topic_terms=tuple(data.get("topic_terms", ())), combine=tuple(combine),
    )


def _cue(cue: object, path: Path) -> str | tuple[dict, ...]:
    if isinstance(cue, str) and cue.strip():
        return cue.strip()
    if isinstance(cue, list) and cue and all(isinstance(t, dict) for t in cue):
        return tuple(cue)  # a raw spaCy Matcher pattern
    raise DebateError(f"{path}: a cue is a pattern string or a list of spaCy token "
                      f"patterns, not {cue!r}")


def list_debates(debates_dir: str | Path | None = None) -> list[Debate]:
    """Every debate available, the user's first; a user's file overrides a shipped one."""
    found: dict[str, Debate] = {}
    for folder in search_dirs(debates_dir):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            debate = load_debate_file(path)
            found.setdefault(debate.name, debate)
    return list(found.values())


def load_debate(name: str, debates_dir: str | Path | None = None) -> Debate:
    """The debate called ``name``; the error lists the debates there are."""
    debates = list_debates(debates_dir)
    for debate in debates:
        if debate.name == name:
            return debate
    known = ", ".join(d.name for d in debates) or "none"
    raise DebateError(f"no debate called {name!r} (known: {known})")
