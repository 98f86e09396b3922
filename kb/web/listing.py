"""The position listing: every labelled statement, filterable by debate, position, label
method, person, document, site, source, topic, date range and confidence, with facet
counts, sorting and pages, and the
same filtered rows as JSON or CSV (Datasette style: the URL is the interface).

The rows come from ``statement_positions`` (the ``effective_labels`` view joined to
statements and documents, kept current by triggers: see migration m007), so counting,
faceting and sorting 100k statements reads indexes rather than testing every label for
one that outranks it. Every SQL fragment below is fixed text chosen by the name of a
filter; values only ever travel as parameters.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from typing import Any

from flask import Blueprint, Response, render_template, request, url_for

from kb.web.api import page_json
from kb.web.db import get_db

bp = Blueprint("listing", __name__)

PAGE_SIZE = 50
FACET_SIZE = 15
SORTS = {  # fixed SQL fragments chosen by name, never built from the request
    "confidence": "p.confidence DESC, p.statement_id",
    "least-certain": "p.confidence ASC, p.statement_id",
    "date": "d.published IS NULL, d.published DESC, p.statement_id",
}
# the day a statement was made: its comment's date, else its document's
_DAY = """p.statement_id IN (
        SELECT s.id FROM statements AS s LEFT JOIN comments AS c ON c.id = s.comment_id
        JOIN documents AS d ON d.id = coalesce(s.document_id, c.document_id)
        WHERE substr(coalesce(c.posted_at, d.published), 1, 10) """
WHERE = {  # one fixed fragment per filter, used only when the filter is set
    "debate": "p.debate = :debate",
    "label": "p.label = :label",
    "method": "p.method = :method",
    "person": "p.person_id = :person",
    "document": "p.document_id = :document",
    "site": "p.document_id IN (SELECT id FROM documents WHERE site = :site)",
    "source": "p.document_id IN (SELECT id FROM documents WHERE source_id = :source)",
    "topic": "p.statement_id IN (SELECT statement_id FROM topic_assignments"
             " WHERE topic_id = :topic)",
    "since": _DAY + ">= :since)",
    "until": _DAY + "<= :until)",
    "min_confidence": "coalesce(p.confidence, 1) >= :min_confidence",
    "q": "p.statement_id IN (SELECT id FROM statements WHERE text LIKE '%' || :q || '%')",
}
# With no filter that picks out few rows, pages are read in sort order from an index
# (statement_positions_confidence, or documents_published for dates) and these filters
# are tested on the way: the leading "+" keeps SQLite from using an index for them.
_WALKING = {"debate": "+p.debate = :debate", "label": "+p.label = :label",
            "method": "+p.method = :method"}
_NARROW = ("person", "document", "site", "source", "topic")
_ROWS = """
    SELECT s.id, p.debate, p.label, p.method, p.confidence, l.model_version,
           s.text, s.speaker, s.speaker_person_id, s.kind, d.id AS document_id,
           d.title AS document_title, d.published, s.comment_id
    FROM {} JOIN statements AS s ON s.id = p.statement_id
    JOIN labels AS l ON l.target_type = 'statement' AND l.target_id = p.statement_id
                    AND l.debate = p.debate AND l.method = p.method
    WHERE {} ORDER BY {} LIMIT :limit OFFSET :offset"""
_FROM = {  # which table drives the page query
    "positions": "statement_positions AS p JOIN documents AS d ON d.id = p.document_id",
    "dates": "documents AS d CROSS JOIN statement_positions AS p ON p.document_id = d.id",
}
# facet counts: debate, label and method in one pass (method has three values, the
# labels table's CHECK), people, and documents (sites are summed from documents)
_BY_LABEL = """
    SELECT p.debate, p.label, sum(p.method = 'human') AS human,
           sum(p.method = 'rule') AS rule, sum(p.method = 'model') AS model
    FROM statement_positions AS p WHERE {} GROUP BY p.debate, p.label"""
_BY_PERSON = """
    SELECT top.value, (SELECT coalesce(s.speaker, 'unknown') FROM statements AS s
                       WHERE s.speaker_person_id = top.value LIMIT 1) AS name, top.n
    FROM (SELECT p.person_id AS value, count(*) AS n FROM statement_positions AS p
          WHERE {} AND p.person_id IS NOT NULL
          GROUP BY p.person_id ORDER BY n DESC, value LIMIT :facet_size) AS top
    ORDER BY top.n DESC, top.value"""
_BY_DOCUMENT = """
    SELECT p.document_id, count(*) AS n FROM statement_positions AS p WHERE {}
    GROUP BY p.document_id"""
_DOCUMENTS = """
    SELECT id, title, site FROM documents WHERE id IN (SELECT value FROM json_each(:ids))"""


def _filters() -> dict[str, Any]:
    args = request.args
    try:
        minimum = float(args["min_confidence"]) if args.get("min_confidence") else None
    except ValueError:
        minimum = None
    if minimum is not None and math.isnan(minimum):
        minimum = None  # SQLite reads NaN as NULL: no bound
    try:
        topic = int(args["topic"]) if args.get("topic") else None
    except ValueError:
        topic = None
    return {"debate": args.get("debate", ""), "label": args.get("label", ""),
            "method": args.get("method", ""), "person": args.get("person", ""),
            "document": args.get("document", ""), "site": args.get("site", ""),
            "source": args.get("source", ""), "topic": topic,
            "since": _day(args.get("since")), "until": _day(args.get("until")),
            "min_confidence": minimum, "q": args.get("q", "")[:200]}


def _day(value: str | None) -> str:
    """A YYYY-MM-DD (or YYYY-MM, YYYY) bound, or '' for none: anything else is ignored."""
    value = (value or "").strip()
    return value if re.fullmatch(r"\d{4}(?:-\d{2}(?:-\d{2})?)?", value) else ""


def _chosen(filters: dict[str, Any], without: str = "") -> tuple[str, ...]:
    """The names of the filters that are set (less ``without``), in WHERE's order."""
    return tuple(name for name in WHERE
                 if name != without and filters.get(name) not in ("", None))


def _where(chosen: tuple[str, ...], fragments: dict[str, str] = WHERE) -> str:
    return " AND ".join(fragments.get(name, WHERE[name]) for name in chosen) or "1"


def _rows(filters: dict[str, Any], sort: str, limit: int | None, offset: int = 0) -> list[dict]:
    chosen = _chosen(filters)
    narrow = any(name in chosen for name in _NARROW)
    both = "debate" in chosen and "label" in chosen  # an index range already in order
    walking = not narrow and not both
    source = "dates" if sort == "date" and not narrow else "positions"
    sql = _ROWS.format(_FROM[source], _where(chosen, _WALKING if walking else WHERE),
                       SORTS.get(sort, SORTS["confidence"]))
    return list(get_db().query(sql, {**filters, "limit": -1 if limit is None else limit,
                                     "offset": offset}))


def _top(counts: dict[Any, int], names: dict[Any, Any] | None = None) -> list[dict]:
    best = sorted(((n, value) for value, n in counts.items() if n and value is not None),
                  key=lambda item: (-item[0], str(item[1])))[:FACET_SIZE]
    return [{"value": value, "name": names[value] if names else value, "n": n}
            for n, value in best]


class _Facets:
    """Facet counts for one set of filters, each pass run once however many facets use it
    (a facet counts as if its own filter were not chosen)."""

    def __init__(self, filters: dict[str, Any]) -> None:
        self.filters = filters
        self.passes: dict[tuple[str, str], Any] = {}

    def _once(self, kind: str, chosen: tuple[str, ...], run) -> Any:
        key = (kind, ",".join(chosen))
        if key not in self.passes:
            self.passes[key] = run(chosen)
        return self.passes[key]

    def _by_label(self, chosen: tuple[str, ...]) -> list[dict]:
        return list(get_db().query(_BY_LABEL.format(_where(chosen)), self.filters))

    def _by_document(self, chosen: tuple[str, ...]) -> dict[str, int]:
        return {r["document_id"]: r["n"] for r in get_db().query(
            _BY_DOCUMENT.format(_where(chosen)), self.filters)}

    def _documents(self, ids: list[str]) -> dict[str, dict]:
        return {r["id"]: r for r in get_db().query(_DOCUMENTS, {"ids": json.dumps(ids)})}

    def label_facet(self, name: str) -> list[dict]:
        counts: dict[str, int] = {}
        for r in self._once("label", _chosen(self.filters, name), self._by_label):
            if name == "method":
                for method in ("human", "rule", "model"):
                    counts[method] = counts.get(method, 0) + r[method]
            else:
                counts[r[name]] = counts.get(r[name], 0) + r["human"] + r["rule"] + r["model"]
        return _top(counts)

    def person_facet(self) -> list[dict]:
        chosen = _chosen(self.filters, "person")
        return list(get_db().query(_BY_PERSON.format(_where(chosen)),
                                   {**self.filters, "facet_size": FACET_SIZE}))

    def document_facets(self) -> tuple[list[dict], list[dict]]:
        by_document = self._once("document", _chosen(self.filters, "document"),
                                 self._by_document)
        top = _top(by_document)
        titles = self._documents([f["value"] for f in top])
        documents = [{**f, "name": titles[f["value"]]["title"]} for f in top]
        in_sites = self._once("document", _chosen(self.filters, "site"), self._by_document)
        sites: dict[str, int] = {}
        for document_id, row in self._documents(list(in_sites)).items():
            if row["site"] is not None:
                sites[row["site"]] = sites.get(row["site"], 0) + in_sites[document_id]
        return documents, _top(sites)

    def all(self) -> dict[str, list[dict]]:
        documents, sites = self.document_facets()
        return {"debate": self.label_facet("debate"), "label": self.label_facet("label"),
                "method": self.label_facet("method"), "person": self.person_facet(),
                "document": documents, "site": sites}

    def total(self) -> int:
        """How many rows match every filter (from a facet pass that used them all, if any)."""
        chosen = ",".join(_chosen(self.filters))
        if ("label", chosen) in self.passes:
            return sum(r["human"] + r["rule"] + r["model"]
                       for r in self.passes[("label", chosen)])
        if ("document", chosen) in self.passes:
            return sum(self.passes[("document", chosen)].values())
        return get_db().execute(
            f"SELECT count(*) FROM statement_positions AS p WHERE {_where(_chosen(self.filters))}",
            self.filters).fetchone()[0]


def _facets(filters: dict[str, Any]) -> dict[str, list[dict]]:
    return _Facets(filters).all()


def _page() -> int:
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


@bp.get("/positions/")
def positions_page():
    filters, page = _filters(), _page()
    sort = request.args.get("sort", "confidence")
    counter = _Facets(filters)
    facets = counter.all()
    total = counter.total()
    rows = _rows(filters, sort, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("listing/positions.html", rows=rows, facets=facets,
                           filters=filters, sort=sort, sorts=list(SORTS), total=total,
                           page=page, pages=max(1, -(-total // PAGE_SIZE)), args=args)


@bp.get("/positions.json")
def positions_json():
    filters, page = _filters(), _page()
    rows = _rows(filters, request.args.get("sort", "confidence"), PAGE_SIZE,
                 (page - 1) * PAGE_SIZE)
    counter = _Facets(filters)
    facets = counter.all()
    return page_json(rows, counter.total(), page, PAGE_SIZE, facets=facets,
                     csv=url_for("listing.positions_csv", **request.args))


@bp.get("/positions.csv")
def positions_csv():
    rows = _rows(_filters(), request.args.get("sort", "confidence"), None)
    buffer = io.StringIO()
    columns = ["id", "debate", "label", "method", "confidence", "model_version", "text",
               "speaker", "kind", "document_id", "document_title", "published", "comment_id"]
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        # a cell starting with = + - @ would be a formula in a spreadsheet
        writer.writerow({k: ("'" + v if isinstance(v, str) and v[:1] in "=+-@" else v)
                         for k, v in row.items()})
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=positions.csv"})
