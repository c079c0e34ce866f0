"""Search: cases found by the words people type, in Chinese, ranked and highlighted, within scope.

Chinese is written without spaces and most of its words have two characters, so the text is cut
the way Lucene's CJKAnalyzer cuts it: every run of CJK characters into overlapping bigrams
(马路市场 → 马路 路市 市场), letters and digits into words (ZF-01 → zf 01, #290 → 290). A query is
cut the same way, each of its words a phrase of consecutive bigrams, so any two or more
characters of the text find it, exactly as a substring would, with no dictionary to miss a
place name. Each run's last character is indexed alone as well, so that one character (月, or 11月)
is a prefix query that finds every place it occurs.

The terms are computed here, not by the database, so SQLite and PostgreSQL match alike: SQLite
keeps them in an FTS5 table (`search_terms`, BM25 ranking), PostgreSQL in a tsvector column with a
GIN index (`search_documents.terms`, ts_rank), both weighting the case number above the title,
the title above the description, replies and remarks, and those above the units, list item and
dates. The documents are rewritten in the transaction of every change to a case (`reindex`);
`flask huying reindex` rebuilds them all.

Sources of text are functions registered with `text_source`: given case ids, they return
(case_id, field, label, text) rows. Another kind of text on a case (remarks, say) is one more
source, and its write path calls `reindex(case_id)` in its transaction.
"""
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone

from markupsafe import Markup, escape
from sqlalchemy import Float, Integer, cast, literal, literal_column, bindparam, column, delete, func, or_, select, table, text
from sqlalchemy.orm import defer, lazyload
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BooleanClauseList
from sqlalchemy.sql.util import ClauseAdapter

from . import orgs, processes
from .scope import participation_key
from .extensions import db
from .models import Case, CaseParticipant, ListItem, ListVersion, ProcessVersion, SearchDocument, Task
from .models.types import utcnow
from .timefmt import local_zone

FIELDS = ("number", "title", "body", "meta")     # in order of weight
SQLITE_WEIGHTS = (20.0, 5.0, 1.0, 0.5)           # bm25() column weights
PG_WEIGHTS = "{0.02, 0.1, 0.4, 1.0}"            # ts_rank(): D (meta), C (body), B (title), A (number)
PG_LABEL = {"number": "A", "title": "B", "body": "C", "meta": "D"}
FIELD_GAP = 8                  # positions between two texts, so that no phrase spans them
MAX_POSITION = 16383           # PostgreSQL's highest tsvector position
MAX_WORD = 40                  # longer runs of letters and digits are cut
MAX_QUERY = 200                # characters of a query read
MAX_TERMS = 8                  # words of a query used

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\U00020000-\U0002fa1f"
_PIECE = re.compile(rf"([{_CJK}]+)|((?:(?![{_CJK}])[^\W_])+)")
_TERM_SPLIT = re.compile(r"[\s,;，、；。]+")


def normal(value):
    """Full-width forms folded to their ASCII twins, letters to lower case."""
    return unicodedata.normalize("NFKC", value).casefold()


def _pieces(value):
    for m in _PIECE.finditer(normal(value)):
        yield (m.group(1), True) if m.group(1) else (m.group(2)[:MAX_WORD], False)


def _grams(run):
    """马路市场 → 马路 路市 市场 场 (a run's last character alone too); 路 → 路."""
    if len(run) == 1:
        return [run]
    return [run[i:i + 2] for i in range(len(run) - 1)] + [run[-1]]


def terms_of(value):
    """The index terms of a text, in order."""
    out = []
    for piece, cjk in _pieces(value):
        out.extend(_grams(piece) if cjk else [piece])
    return out


# --- the query ---------------------------------------------------------------------------------
@dataclass
class Phrase:
    tokens: list      # consecutive terms
    prefix: bool      # the last one is a prefix (a query ending in a single CJK character)
    pattern: str      # a regular expression finding the word in normalised text, for highlighting
    word: str = ""    # the word as typed, normalised


def parse(q):
    """The phrases of a query (at most MAX_TERMS); none when it has no searchable word. Anything
    typed is only ever text here: quotes, AND, NEAR or * are no operators."""
    phrases = []
    for word in _TERM_SPLIT.split((q or "")[:MAX_QUERY]):
        pieces = list(_pieces(word))
        if not pieces:
            continue
        tokens, prefix = [], False
        for i, (piece, cjk) in enumerate(pieces):
            last = i == len(pieces) - 1
            if not cjk:
                tokens.append(piece)
            elif last and len(piece) == 1:
                tokens.append(piece)
                prefix = True
            elif last:
                tokens.extend(_grams(piece)[:-1])   # the text's run may go on after it
            else:
                tokens.extend(_grams(piece))
        pattern = r"[\W_]*".join(re.escape(p) for p, _ in pieces)
        phrases.append(Phrase(tokens, prefix, pattern, normal(word).strip()))
        if len(phrases) == MAX_TERMS:
            break
    return phrases


def _fts5_query(phrases, join=" AND "):
    return join.join('"' + " ".join(p.tokens) + '"' + ("*" if p.prefix else "") for p in phrases)


def _tsquery(phrases, join=" & "):
    def phrase(p):
        quoted = [f"'{t}'" for t in p.tokens]
        if p.prefix:
            quoted[-1] += ":*"
        return "(" + " <-> ".join(quoted) + ")"
    return join.join(phrase(p) for p in phrases)


# --- the documents -----------------------------------------------------------------------------
_SOURCES = []


def text_source(fn):
    """Register fn(case_ids) -> [(case_id, field, label, text)] as a source of searchable text."""
    _SOURCES.append(fn)
    return fn


def _free_text(schema):
    """The free-text fields of a form: strings that are not a choice (no enum, oneOf or x-options)."""
    props = (schema or {}).get("properties") or {}
    return {k: p.get("title") or k for k, p in props.items()
            if isinstance(p, dict) and p.get("type") == "string"
            and not ({"enum", "oneOf", "anyOf", "const", "x-options", "format"} & set(p))}


def _local(dt):
    d = dt.astimezone(local_zone())
    return f"{d:%Y-%m-%d} {d.year}年{d.month}月{d.day}日"


@text_source
def _case_texts(case_ids):
    """The number, the title, the start form's free text, the township, the list item and the dates."""
    names = orgs.org_names()
    out = []
    cases = _cases(case_ids)
    items = _item_names({(c.list_item, c.list_version) for c in cases if c.list_item})
    definitions = _definitions({c.process_version_id for c in cases})
    for c in cases:
        out.append((c.id, "number", "编号", f"#{c.id}"))
        out.append((c.id, "title", "事项", c.title or ""))
        definition = definitions[c.process_version_id]
        start = _free_text(definition.form(definition.start.form))
        for key, label in start.items():
            value = (c.data or {}).get(key)
            if key != "title" and isinstance(value, str) and value.strip():
                out.append((c.id, "body", label, value))
        if c.initiator_org:
            out.append((c.id, "meta", "发起单位", names.get(c.initiator_org, c.initiator_org)))
        if c.list_item:
            out.append((c.id, "meta", "清单事项", f"{c.list_item} {items.get((c.list_item, c.list_version), '')}"))
        out.append((c.id, "meta", "发起时间", _local(c.created_at)))
        if c.closed_at:
            out.append((c.id, "meta", "结束时间", _local(c.closed_at)))
    return out


def _cases(case_ids):
    return db.session.execute(select(Case).where(Case.id.in_(case_ids))
                              .options(lazyload(Case.definition_row), defer(Case.state))).scalars().all()


def _definitions(version_ids):
    rows = db.session.execute(select(ProcessVersion).where(ProcessVersion.id.in_(version_ids))).scalars()
    return {row.id: processes.definition(row) for row in rows}


def _item_names(pairs):
    if not pairs:
        return {}
    rows = db.session.execute(select(ListItem.code, ListVersion.version, ListItem.name)
                              .join(ListVersion, ListVersion.id == ListItem.list_version_id)
                              .where(ListItem.code.in_({code for code, _ in pairs}))).all()
    return {(code, version): name for code, version, name in rows}


@text_source
def _units(case_ids):
    """The units taking part besides the township that called: the departments."""
    names = orgs.org_names()
    rows = db.session.execute(select(CaseParticipant.case_id, CaseParticipant.org_code)
                              .join(Case, Case.id == CaseParticipant.case_id)
                              .where(CaseParticipant.case_id.in_(case_ids), CaseParticipant.org_code.is_not(None),
                                     CaseParticipant.org_code != Case.initiator_org)
                              .order_by(CaseParticipant.id)).all()
    return [(case_id, "meta", "参与单位", names.get(code, code)) for case_id, code in rows]


@text_source
def _replies(case_ids):
    """The free text of every completed task: the departments' replies, opinions, reasons, comments."""
    names = orgs.org_names()
    tasks = db.session.execute(select(Task).where(Task.case_id.in_(case_ids), Task.status == "completed")
                               .order_by(Task.completed_at, Task.id)).scalars().all()
    if not tasks:
        return []
    versions = dict(db.session.execute(select(Case.id, Case.process_version_id)
                                       .where(Case.id.in_({t.case_id for t in tasks}))).all())
    definitions = _definitions(set(versions.values()))
    out = []
    for t in tasks:
        if t.kind == "order":
            schema = processes.app_form(t.form) if t.form else None
        else:
            schema = definitions[versions[t.case_id]].form(t.form)
        fields = _free_text(schema)
        unit = names.get(t.org_code, "") if t.org_code else ""
        for key, value in (t.result or {}).items():
            if key in fields and isinstance(value, str) and value.strip():
                out.append((t.case_id, "body", f"{t.name}{'（' + unit + '）' if unit else ''}·{fields[key]}", value))
    return out


def documents(case_ids):
    """{case_id: [[field, label, text]]} from every source."""
    docs = defaultdict(list)
    for source in _SOURCES:
        for case_id, field, label, value in source(case_ids):
            docs[case_id].append([field, label, value])
    order = {f: i for i, f in enumerate(FIELDS)}
    return {k: sorted(v, key=lambda x: order[x[0]]) for k, v in docs.items()}


def _columns(texts):
    """{field: 'term term …'} of a document, for the FTS5 table."""
    cols = {f: [] for f in FIELDS}
    for field, _label, value in texts:
        cols[field].extend(terms_of(value))
    return {f: " ".join(v) for f, v in cols.items()}


def _tsvector(texts, keys=()):
    """A tsvector literal of a document: each term with its positions and the weight of its field;
    then the case's participation keys (scope.participation_key), without positions, which no typed
    word can match (a query's words have no @)."""
    positions = defaultdict(list)
    pos = 1
    for field, _label, value in texts:
        for term in terms_of(value):
            if pos > MAX_POSITION:
                break
            if len(positions[term]) < 256:
                positions[term].append(f"{pos}{PG_LABEL[field]}")
            pos += 1
        pos += FIELD_GAP
    return " ".join([f"'{t}':{','.join(p)}" for t, p in positions.items()] + [f"'{k}'" for k in sorted(set(keys))])


def _keys(case_ids):
    """{case_id: [participation key]} of these cases."""
    out = defaultdict(list)
    for case_id, org_code, role in db.session.execute(select(
            CaseParticipant.case_id, CaseParticipant.org_code, CaseParticipant.role)
            .where(CaseParticipant.case_id.in_(case_ids))):
        out[case_id].append(participation_key(org_code, role))
    return out


def reindex(case_or_id):
    """Rewrite the search document of one case, in the caller's transaction."""
    reindex_many([getattr(case_or_id, "id", case_or_id)])


def reindex_many(case_ids):
    """Rewrite the search documents of these cases, in the caller's transaction."""
    case_ids = list(case_ids)
    if not case_ids:
        return
    db.session.flush()
    docs = documents(case_ids)
    now = utcnow()
    db.session.execute(delete(SearchDocument).where(SearchDocument.case_id.in_(case_ids)))
    rows = [{"case_id": k, "texts": v, "indexed_at": now} for k, v in docs.items()]
    if rows:
        db.session.execute(SearchDocument.__table__.insert(), rows)
    if db.engine.dialect.name == "sqlite":
        db.session.execute(text("DELETE FROM search_terms WHERE rowid = :id"), [{"id": k} for k in case_ids])
        if rows:
            db.session.execute(text("INSERT INTO search_terms (rowid, number, title, body, meta) "
                                    "VALUES (:id, :number, :title, :body, :meta)"),
                               [dict(_columns(v), id=k) for k, v in docs.items()])
    elif rows:
        keys = _keys(case_ids)
        db.session.execute(text("UPDATE search_documents SET terms = CAST(:terms AS tsvector), "
                                "title_terms = CAST(:title AS tsvector) WHERE case_id = :id"),
                           [{"id": k, "terms": _tsvector(v, keys[k]),
                             "title": _tsvector([t for t in v if t[0] in ("number", "title")])}
                            for k, v in docs.items()])


# --- finding -------------------------------------------------------------------------------------
COUNT_BOUND = 1000      # matches counted at most: past it the total is "1,000+" (total_capped)

_FTS = table("search_terms", column("rowid", Integer))
_DOCS = SearchDocument.__table__
_MONTH = re.compile(r"^(?:(\d{4})(?:年|-|/|\.))?(\d{1,2})月?$")


@dataclass
class Criteria:
    """A query read: the phrases matched as text, and the words recognised as filters on indexed
    columns (a unit's name: the calls it takes part in; a month: the calls made in it)."""
    phrases: list
    units: list       # org codes
    months: list      # (start, end) datetimes, UTC
    marks: list       # every phrase, for highlighting


def _month_range(year, month, now):
    if year is None:                     # 3月: the last March up to now
        year = now.year if month <= now.month else now.year - 1
    start = datetime(year, month, 1, tzinfo=now.tzinfo)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=now.tzinfo)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def read_query(q):
    """The Criteria of a query: a word that is exactly a unit's name (泰前街道, 综合行政执法局) or a
    month (3月, 2026年3月, 2026-03) becomes an indexed filter instead of a text phrase."""
    phrases = parse(q)
    units, months, rest = [], [], []
    by_name = {normal(name): code for name, code in orgs.unit_codes_by_name().items() if name}
    now = datetime.now(local_zone())
    for p in phrases:
        m = _MONTH.match(p.word)
        if p.word in by_name:
            units.append(by_name[p.word])
        elif m and ("月" in p.word or m.group(1)) and 1 <= int(m.group(2)) <= 12 \
                and (m.group(1) is None or 2000 <= int(m.group(1)) <= 2100):
            months.append(_month_range(int(m.group(1)) if m.group(1) else None, int(m.group(2)), now))
        else:
            rest.append(p)
    return Criteria(rest, units, months, phrases)


def _text_match(phrases, tier, keys=None):
    """(id column, WHERE clauses) of the cases whose text matches every phrase; tier "title": and any
    phrase in their number or title; "rest": and none."""
    any_title = None
    if db.engine.dialect.name == "sqlite":
        every = _fts5_query(phrases)
        titled = "{number title} : (" + _fts5_query(phrases, " OR ") + ")"
        match = {"all": every, "title": titled if len(phrases) == 1 else f"({titled}) AND {every}",
                 "rest": f"({every}) NOT ({titled})"}[tier]
        return _FTS.c.rowid, [text("search_terms MATCH :fts_match").bindparams(fts_match=match)]
    query = _tsquery(phrases)
    if keys is not None:    # the scope inside the GIN index: only its matches are read
        query = "(" + query + ") & (" + (" | ".join(f"'{k}'" for k in keys) or "'@none'") + ")"
    where = [text("search_documents.terms @@ CAST(:ts_all AS tsquery)").bindparams(ts_all=query)]
    if tier != "all":
        any_title = bindparam("ts_title", _tsquery(phrases, " | "))
        clause = "search_documents.title_terms @@ CAST(:ts_title AS tsquery)"
        where.append(text(clause if tier == "title" else f"NOT coalesce({clause}, false)").bindparams(any_title))
    return _DOCS.c.case_id, where


def _rank(phrases):
    """The rank of a title match, lower first: BM25 (SQLite) or ts_rank of each phrase (PostgreSQL)."""
    if db.engine.dialect.name == "sqlite":
        return literal_column("bm25(search_terms, %s)" % ", ".join(map(str, SQLITE_WEIGHTS)), Float)
    from sqlalchemy.dialects.postgresql import ARRAY, REAL, TSQUERY
    weights = cast(literal(PG_WEIGHTS), ARRAY(REAL))
    return -sum((func.ts_rank(weights, literal_column("search_documents.title_terms"), cast(literal(_tsquery([p])), TSQUERY))
                 for p in phrases[1:]), func.ts_rank(weights, literal_column("search_documents.title_terms"),
                                                    cast(literal(_tsquery(phrases[:1])), TSQUERY)))


def _candidates(crit, tier, scope, filters, columns=(), keys=None):
    """(SELECT of the ids of the cases the criteria find in this tier within scope and filters, the
    column of their order, newest first). Words are read from the full-text index; with none, a
    unit's calls from its participations (in case order), a month's from the cases by creation time."""
    order = None
    if crit.phrases:
        ident, where = _text_match(crit.phrases, tier, keys)
        stmt = select(ident, *columns).where(*where)
        units = crit.units
    elif crit.units:
        ident = CaseParticipant.case_id
        stmt = select(ident).where(CaseParticipant.org_code == crit.units[0]).distinct()
        units = crit.units[1:]
    else:
        ident, order, units = Case.id, Case.created_at, []
        stmt = select(ident)
    if scope is not None:
        # each part of an OR its own set of case ids (a unit's from its index), so the database reads
        # each once instead of probing every match's participations
        parts = scope.clauses if isinstance(scope, BooleanClauseList) and scope.operator is operators.or_ else [scope]
        stmt = stmt.where(or_(*[_taking_part(ident, part) for part in parts]))
    for code in units:
        stmt = stmt.where(_taking_part(ident, CaseParticipant.org_code == code))
    where = list(filters)
    if crit.months:
        where.append(or_(*[(Case.created_at >= lo) & (Case.created_at < hi) for lo, hi in crit.months]))
    if where:
        if ident is not Case.id:
            stmt = stmt.join(Case, Case.id == ident)
        stmt = stmt.where(*where)
    return stmt, (order if order is not None else ident)


def _taking_part(ident, where):
    """The cases (ident) with a participation that `where` (on CaseParticipant) selects: on PostgreSQL
    the set of their ids (read once, a hashed subplan or a semi-join), on SQLite a probe of each
    match's participations (an IN on the FTS5 table's rowid would keep it from its MATCH)."""
    probe = CaseParticipant.__table__.alias()
    where = ClauseAdapter(probe).traverse(where)
    if db.engine.dialect.name == "sqlite":
        return select(probe.c.id).where(probe.c.case_id == ident, where).exists()
    return ident.in_(select(probe.c.case_id).where(where))


@dataclass
class Found:
    cases: list       # Case rows of the page, best first
    total: int        # exact up to COUNT_BOUND
    marks: dict       # {case_id: Highlight}
    capped: bool = False   # more than COUNT_BOUND matches: total is COUNT_BOUND, the rest uncounted


@dataclass
class Highlight:
    title: Markup          # the title with the words marked
    label: str | None      # where the snippet is from (情况描述, 办理反馈（…）·办理结果, …)
    snippet: Markup | None


def find(scope, filters, q, page=1, per_page=50, scope_keys=None):
    """The page of the cases matching the query, best first, among those `scope` lets the caller
    see (a WHERE clause on CaseParticipant, None for every case) that `filters` (WHERE clauses on
    Case) select; the caller asks the policy.

    The calls with any of the words in their number or title come first, ranked by BM25 (SQLite) or
    ts_rank (PostgreSQL) with the number above the title; then those with the words only in their
    description, replies, remarks, units, list item or dates, newest first, read from the index in
    that order only as far as the page. A unit's name or a month is no text but a filter on indexed
    columns (see read_query). The total is exact up to COUNT_BOUND, and capped past it: no one pages
    through a thousand calls, and counting 10,000 would cost more than the 50 ms a search may take."""
    crit = read_query(q)
    if not crit.marks:
        return Found([], 0, {})
    offset = (page - 1) * per_page
    ids, skip = [], offset
    keys = scope_keys if scope is not None and db.engine.dialect.name != "sqlite" else None
    if crit.phrases:
        score = _rank(crit.phrases).label("score")
        titled, ident = _candidates(crit, "title", scope, filters, [score], keys)
        ids = db.session.execute(titled.order_by(text("score"), ident.desc())
                                 .limit(per_page).offset(offset)).scalars().all()
        if len(ids) < per_page:
            before = offset + len(ids) if ids else db.session.execute(
                select(func.count()).select_from(_candidates(crit, "title", scope, filters, keys=keys)[0].subquery())).scalar()
            skip = max(0, offset - before)
    if len(ids) < per_page:
        rest, ident = _candidates(crit, "rest" if crit.phrases else "all", scope, filters, keys=keys)
        order = [ident.desc(), Case.id.desc()] if ident is Case.created_at else [ident.desc()]
        ids += db.session.execute(rest.order_by(*order).limit(per_page - len(ids)).offset(skip)).scalars().all()
    if offset == 0 and len(ids) < per_page:
        total = len(ids)
    else:
        every = _candidates(crit, "all", scope, filters, keys=keys)[0].limit(COUNT_BOUND + 1).subquery()
        total = db.session.execute(select(func.count()).select_from(every)).scalar()
    by_id = {c.id: c for c in db.session.execute(
        select(Case).where(Case.id.in_(ids)).options(lazyload(Case.definition_row), defer(Case.state))).scalars()}
    cases = [by_id[i] for i in ids if i in by_id]
    return Found(cases, min(total, COUNT_BOUND), highlights(cases, crit.marks), total > COUNT_BOUND)


def highlights(cases, phrases):
    if not cases:
        return {}
    pattern = re.compile("|".join(sorted((p.pattern for p in phrases), key=len, reverse=True)))
    texts = dict(db.session.execute(select(SearchDocument.case_id, SearchDocument.texts)
                                    .where(SearchDocument.case_id.in_([c.id for c in cases]))).all())
    out = {}
    for c in cases:
        label, snippet = None, None
        for field, lbl, value in texts.get(c.id) or []:
            if field in ("number", "title"):
                continue
            marked = mark(value, pattern, window=True)
            if marked is not None:
                label, snippet = lbl, marked
                break
        out[c.id] = Highlight(mark(c.title or "", pattern) or escape(c.title or ""), label, snippet)
    return out


BEFORE, AFTER = 24, 56       # characters of context a snippet shows around its first match


def mark(value, pattern, window=False):
    """The text, escaped, with every match of the pattern in <mark>; None when nothing matches.
    With window, only the stretch around the first match, with … where it is cut."""
    folded = normal(value)
    if len(folded) == len(value):       # nearly always: each character folds to one
        spans = [m.span() for m in pattern.finditer(folded) if m.end() > m.start()]
    else:
        norm, origin = [], []
        for i, ch in enumerate(value):
            for n in normal(ch):
                norm.append(n)
                origin.append(i)
        spans = [(origin[m.start()], origin[m.end() - 1] + 1) for m in pattern.finditer("".join(norm))
                 if m.end() > m.start()]
    if not spans:
        return None
    lo, hi = 0, len(value)
    if window:
        lo, hi = max(0, spans[0][0] - BEFORE), min(len(value), spans[0][1] + AFTER)
    parts, at = ["…" if lo > 0 else ""], lo      # built as str and made Markup once: a page marks 100 texts
    for start, end in spans:
        if start < at or start >= hi:
            continue
        end = min(end, hi)
        parts += [_escape(value[at:start]), "<mark>", _escape(value[start:end]), "</mark>"]
        at = end
    parts += [_escape(value[at:hi]), "…" if hi < len(value) else ""]
    return Markup("".join(parts))


_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"})


def _escape(value):
    """What markupsafe.escape makes of a text, as str."""
    return value.translate(_ESCAPES)


# --- keeping it whole ----------------------------------------------------------------------------
def reindex_all(batch=500, progress=None):
    """Rebuild every case's document, in batches of one transaction each; progress(n) after each."""
    from .database import write_transaction
    ids = db.session.execute(select(Case.id).order_by(Case.id)).scalars().all()
    with write_transaction():
        db.session.execute(delete(SearchDocument).where(SearchDocument.case_id.not_in(select(Case.id))))
        if db.engine.dialect.name == "sqlite":
            db.session.execute(text("DELETE FROM search_terms WHERE rowid NOT IN (SELECT id FROM cases)"))
    for i in range(0, len(ids), batch):
        with write_transaction():
            reindex_many(ids[i:i + batch])
        if progress:
            progress(len(ids[i:i + batch]))
    return len(ids)


def check(deep=True):
    """What is wrong with the index: [(problem, detail)]; empty when it is whole. Deep, SQLite's FTS5
    also checks its own structure (a read of the whole index)."""
    problems = []
    missing = db.session.execute(select(func.count()).select_from(Case).where(
        Case.id.not_in(select(SearchDocument.case_id)))).scalar()
    if missing:
        problems.append(("missing", f"{missing} 个案件没有检索文档"))
    if db.engine.dialect.name == "sqlite":
        unindexed = db.session.execute(text(
            "SELECT count(*) FROM search_documents WHERE case_id NOT IN (SELECT rowid FROM search_terms)")).scalar()
        stray = db.session.execute(text(
            "SELECT count(*) FROM search_terms WHERE rowid NOT IN (SELECT case_id FROM search_documents)")).scalar()
        if deep:
            try:
                db.session.execute(text("INSERT INTO search_terms (search_terms) VALUES ('integrity-check')"))
            except Exception as e:  # noqa: BLE001 - the FTS5 module names what is damaged
                problems.append(("fts5", str(e)))
            db.session.rollback()
    else:
        unindexed = db.session.execute(text("SELECT count(*) FROM search_documents WHERE terms IS NULL")).scalar()
        stray = 0
    if unindexed:
        problems.append(("unindexed", f"{unindexed} 个检索文档不在全文索引中"))
    if stray:
        problems.append(("stray", f"全文索引中有 {stray} 个多余条目"))
    return problems
