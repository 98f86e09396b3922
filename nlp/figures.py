"""Survey figures as records: the value ("62%", "one third", "24 percent"), what it
measures, the population asked and the survey or firm behind it, where the text says.

Sentences are read in order, so "In a 2003 survey the firm found…" takes the firm named
earlier (Forrester Research), and a population stated once ("interviews with executives
from 176 North American companies") carries to the figures that follow it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER = r"\d+(?:[.,]\d+)?"
_WORD_SHARE = (r"(?:about |nearly |almost |roughly |more than |less than |over |under |just )?"
               r"(?:(?:one|two|three|four)[- ](?:third|quarter|fifth|tenth)s?|a (?:third|quarter|"
               r"fifth|tenth|half|majority|minority)|half|(?:one|two|three|four|nine) (?:in|out of) "
               r"(?:three|four|five|ten|\d+))")
VALUE = re.compile(
    rf"(?P<value>(?:\b(?:about|nearly|almost|roughly|more than|less than|over|under|just|only|"
    rf"a mere)\s+)?{_NUMBER}\s?(?:%|percent\b|per cent\b)|\b{_WORD_SHARE}\b)", re.IGNORECASE)
_OF_POPULATION = re.compile(
    r"^\s*(?:of\s+(?:the\s+|our\s+|all\s+|those\s+)?(?P<pop>[^,;.]+?))?\s+(?P<rest>(?:"
    r"have|has|had|say|said|says|report|reported|responded|contended|designated|indicated|"
    r"believe|believed|think|thought|are|were|is|was|do|did|agree|agreed|want|plan|see|"
    r"use|rate|named|chose|expect|claim|admit)\b[^.;]*)", re.IGNORECASE)
_SURVEY = re.compile(
    r"(?P<source>(?:(?:[A-Z][\w&'’.-]*\s+)+(?:Research|Group|Institute|Inc\.?|"
    r"Associates|Consulting|Partners)|Forrester|Gartner|Temkin Group|Qualtrics|McKinsey|"
    r"Deloitte|Accenture|IDC|Bain|PwC|KPMG|the firm|our|we)['’]?s?\s*(?:\d{4}\s+)?"
    r"(?:survey|study|report|research|poll|benchmark|findings)?)", re.IGNORECASE)
_YEAR_SURVEY = re.compile(r"\b(?P<year>(?:19|20)\d{2})\s+(?:survey|study|report|poll|benchmark)",
                          re.IGNORECASE)
_ORG = re.compile(r"\b(?P<org>(?:[A-Z][\w&'’.-]*\s+){0,3}(?:Research|Group|Institute)|Forrester|"
                  r"Gartner|Qualtrics|McKinsey|Deloitte|Accenture|IDC)\b")
_POPULATION_STATED = re.compile(
    r"\b(?P<pop>(?:\d[\d,]*|hundreds of|dozens of)\s+(?:[A-Z][\w-]*\s+){0,3}(?:[a-z-]+\s+){0,2}"
    r"(?:companies|firms|respondents|executives|retailers|organi[sz]ations|businesses|consumers|"
    r"customers|leaders|marketers|brands|CMOs|CX leaders|professionals))\b")
_WE_ASKED = re.compile(r"\b(?:we|our)\b.*\b(?:asked|surveyed|polled|respondents)\b", re.IGNORECASE)
_WE_ASKED_WHO = re.compile(r"\b[Ww]e (?:asked|surveyed|polled|interviewed) (?P<pop>[a-z][\w\s-]*?)"
                           r"\s+(?:if|whether|about|to|how|which|what|who)\b")
_REPORT = re.compile(r"(?i)\b(?:findings|results|data) from\s+[\"“](?P<title>[^\"”]+?),?[\"”]")
_CUT = re.compile(r",?\s*(?:while|whereas|and|but)\s+(?=[^,;]*?\d|(?:about|a mere|only|just)\s)|;|,\s*"
                  r"(?=\d+\s?(?:%|percent))", re.IGNORECASE)


@dataclass
class Figure:
    value: str
    measure: str
    population: str | None
    source: str | None
    start: int  # offsets of the value in the text
    end: int


def _clean(text: str) -> str:
    text = re.sub(r"\s*,\s*,", ",", text)
    return re.sub(r"\s+", " ", text).strip(" ,;:-–—….").strip()


def find_figures(text: str, sentences: list[tuple[int, int]],
                 author: str | None = None) -> list[Figure]:
    """Every survey figure in ``text``, in reading order."""
    out: list[Figure] = []
    last_org: str | None = None
    population: str | None = None
    report: str | None = None
    own_survey = False
    for a, b in sentences:
        sentence = text[a:b]
        for m in _ORG.finditer(sentence):
            last_org = m.group("org").strip()
        stated = _POPULATION_STATED.search(sentence)
        if stated and not VALUE.search(stated.group()):
            population = stated.group("pop")
        asked = _WE_ASKED_WHO.search(sentence)
        if asked:
            population = asked.group("pop")
        if _WE_ASKED.search(sentence):
            own_survey = True
        named = _REPORT.search(sentence)
        if named:
            report = f"{last_org}, “{named.group('title')}”" if last_org else named.group("title")
        source = _source(sentence, last_org, author if own_survey else None) or report
        sentence_population: str | None = None
        for m in VALUE.finditer(sentence):
            value = m.group("value").strip()
            if re.match(r"(?i)(half|a majority|a minority)$", value) and "of" not in \
                    sentence[m.end():m.end() + 4]:
                continue
            after = sentence[m.end():]
            of = _OF_POPULATION.match(after)
            if of:
                rest = of.group("rest")
                cut = _CUT.search(rest)
                measure = _clean(rest[:cut.start()] if cut else rest)
                pop = _clean(of.group("pop")) if of.group("pop") else sentence_population
                if pop and population and pop.lower() in (
                        "respondents", "firms", "companies", "our respondents"):
                    pop = f"{pop} ({population})"
                pop = pop or population
                sentence_population = pop
            else:
                pop = population
                measure = _measure_around(sentence, m.start(), m.end())
            out.append(Figure(value, measure, pop, source, a + m.start(), a + m.end()))
    return out


def _measure_around(sentence: str, start: int, end: int) -> str:
    """The clause around a value that says what it is: "The largest group …, at 38%, is a
    dedicated customer experience organization" → that sentence without "at 38%"."""
    before = sentence[:start]
    after = sentence[end:]
    before = re.sub(r"(?i)\b(?:at|with|by|of|to)\s*$", "", before.rstrip())
    clause_start = max(before.rfind(";"), before.rfind(" while "), before.rfind(" and "))
    if clause_start > 0:
        before = before[clause_start:].lstrip("; ").removeprefix("while ").removeprefix("and ")
    clause_end = min([i for i in (after.find(";"), after.find(", while"), after.find(", and"))
                      if i >= 0] or [len(after)])
    return _clean(f"{before.strip()} {after[:clause_end].strip()}")


def _source(sentence: str, last_org: str | None, own: str | None) -> str | None:
    year = _YEAR_SURVEY.search(sentence)
    match = re.search(r"(?i)\b(?:the firm|the company|the research firm)\b", sentence)
    org = None
    for m in _ORG.finditer(sentence):
        org = m.group("org").strip()
    if org is None and (match or year) and last_org:
        org = last_org
    if org is None and own:
        org = own
    if org and year:
        return f"{org} {year.group('year')} survey"
    return org
