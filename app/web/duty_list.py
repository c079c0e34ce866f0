"""Browser pages of the responsibility list (属地管理事项责任清单): the published list by domain
with search, one item with its 施工图 and its calls, the versions and what changed between two,
the XLSX print, and the supervisor's accountability review (依单监管问责).

Session-authenticated (flask_login) with CSRF on every form; the same domain functions as the
JSON API in app/api/lists.py."""
import re
from datetime import datetime

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup, escape

from .. import duty_list, orgs, processes
from ..presenters import item_field_text as shown, limits_text, unit_label as unit
from ..errors import CaseError, Forbidden
from ..models.types import utcnow
from ..timefmt import local_zone, short
from .forms import query_number

duty_list_bp = Blueprint("duty_list", __name__)

DOMAINS = list(duty_list.DOMAIN_PREFIX)          # the seven domains, in the list's own order
MAX_QUERY = 100
CALLS_SHOWN = 20
PROPOSALS = {"exempt": "免责", "review": "需审查"}
DECISIONS = {"exempt": "免责", "accountable": "问责"}
SEARCHED = ("code", "name", "primary_duty", "supporting_duty", "legal_basis")
NUMBERING = re.compile(r"^\s*(?:\d+|[一二三四五六七八九十]+)\s*[.、．)）]\s*")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- showing values -------------------------------------------------------------------------------
def steps(instructions):
    """The 施工图 as a list of steps: one a line, their own numbering taken off (the page numbers them)."""
    return [NUMBERING.sub("", line).strip() for line in (instructions or "").splitlines() if line.strip()]


def at(value):
    """An ISO time from a report (or a datetime) as the pages show times."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return short(value)


def highlight(text, q):
    """`text` escaped, with each case-insensitive occurrence of `q` marked."""
    text = text or ""
    if not q:
        return escape(text)
    out, start, folded, needle = [], 0, text.casefold(), q.casefold()
    if len(folded) != len(text):          # casefolding changed lengths (ß and the like): do not mark
        return escape(text)
    while (found := folded.find(needle, start)) >= 0:
        out.append(escape(text[start:found]))
        out.append(Markup("<mark>%s</mark>") % text[found:found + len(needle)])
        start = found + len(needle)
    out.append(escape(text[start:]))
    return Markup("").join(out)


@duty_list_bp.app_context_processor
def helpers():
    return {"unit_name": unit, "limits_text": limits_text}


# --- reading the query string -----------------------------------------------------------------------
def _version(number):
    """The version `number` (the newest when None), or 404."""
    lv = duty_list.version(number)
    if lv is None:
        abort(404)
    return lv


def _code(value):
    return isinstance(value, str) and 0 < len(value) <= 20 and "\x00" not in value


# --- the list ---------------------------------------------------------------------------------------
def _matches(item, needle):
    return any(needle in (getattr(item, f) or "").casefold() for f in SEARCHED)


def _matched_elsewhere(item, needle):
    """The titles of the fields not shown in the table (duties, legal basis) that a search matched."""
    return [duty_list.FIELD_TITLES[f] for f in SEARCHED[2:] if needle in (getattr(item, f) or "").casefold()]


@duty_list_bp.route("/list")
@login_required
def index():
    lv = _version(query_number("version"))
    newest = duty_list.version()
    q = request.args.get("q", "").strip()[:MAX_QUERY].replace("\x00", "")
    domain = request.args.get("domain") or None
    everything = duty_list.items(lv)
    known = DOMAINS + sorted({i.domain for i in everything} - set(DOMAINS))
    domain = domain if domain in known else None
    totals = {d: sum(1 for i in everything if i.domain == d) for d in known}
    needle = q.casefold()
    shown_items = [i for i in everything
                   if (domain is None or i.domain == domain) and (not needle or _matches(i, needle))]
    groups = [(d, totals[d], [i for i in shown_items if i.domain == d]) for d in known]
    groups = [g for g in groups if g[2]]
    elsewhere = {i.code: _matched_elsewhere(i, needle) for i in shown_items} if needle else {}
    return render_template("duty_list.html", lv=lv, newest=newest, versions=duty_list.versions(), q=q,
                           domain=domain, domains=[(d, totals[d]) for d in known if totals[d]], groups=groups,
                           total=len(everything), found=len(shown_items), org_names=orgs.org_names(),
                           filtered=bool(q or domain), highlight=highlight,
                           elsewhere=elsewhere)


@duty_list_bp.route("/list/items/<code>")
@login_required
def item(code):
    if not _code(code):
        abort(404)
    lv = _version(query_number("version"))
    row = orgs.list_item(code, lv)
    if row is None:
        abort(404)
    names = orgs.org_names()
    data = row.to_dict()
    fields = [(f, duty_list.FIELD_TITLES[f], shown(f, data[f], names)) for f in duty_list.FIELDS
              if f not in ("instructions", "name")]
    calls = duty_list.item_calls(current_user, code, CALLS_SHOWN)
    newest = duty_list.version()
    may_propose = lv.id == newest.id and any(p.process_id == "list_change" for p in processes.startable(current_user))
    return render_template("duty_list_item.html", lv=lv, newest=newest, item=row, fields=fields,
                           may_propose=may_propose,
                           steps=steps(row.instructions), calls=calls, org_names=names, limit=CALLS_SHOWN,
                           FIELD_TITLES=duty_list.FIELD_TITLES)


@duty_list_bp.route("/list/versions")
@login_required
def versions():
    rows = duty_list.versions()
    return render_template("duty_list_versions.html", versions=rows, user_names=orgs.user_names(),
                           newest=rows[0] if rows else None,
                           default_from=rows[1].version if len(rows) > 1 else (rows[0].version if rows else None))


@duty_list_bp.route("/list/diff")
@login_required
def diff():
    new = _version(query_number("to"))
    old_number = query_number("from")
    old = _version(old_number if old_number is not None else new.version - 1)
    names = orgs.org_names()
    changes = duty_list.diff(old, new)
    changed = [{"code": c["code"], "name": c["name"],
                "fields": [(f, duty_list.FIELD_TITLES.get(f, f), shown(f, v["old"], names), shown(f, v["new"], names))
                           for f, v in c["fields"].items()]}
               for c in changes["changed"]]
    return render_template("duty_list_diff.html", old=old, new=new, added=changes["added"],
                           removed=changes["removed"], changed=changed, versions=duty_list.versions(),
                           org_names=names)


@duty_list_bp.route("/list/export.xlsx")
@login_required
def export_xlsx():
    lv = _version(query_number("version"))
    return Response(duty_list.xlsx(lv), mimetype=XLSX, headers={
        "Content-Disposition": f"attachment; filename=responsibility-list-v{lv.version}.xlsx",
        "Cache-Control": "private, no-store"})


# --- 依单监管问责 -------------------------------------------------------------------------------------
REPORT_FIELDS = ("item_code", "township", "incident_date", "description")


def _checked(values):
    """Errors the page finds before asking the domain: sizes and characters a database would refuse."""
    errors = {}
    for key in ("item_code", "township", "incident_date"):
        if values.get(key) and not _code(values[key]):
            errors[key] = "不在可选范围内"
    for key, most in (("description", 5000), ("reason", 2000)):
        value = values.get(key) or ""
        if len(value) > most or "\x00" in value:
            errors[key] = f"不超过 {most} 字，且不含控制字符"
    return errors


def _report(values):
    """(report, errors) for the incident described by `values`."""
    errors = _checked(values)
    if not values.get("item_code"):
        errors["item_code"] = "请选择事项"
    if not values.get("township"):
        errors["township"] = "请选择乡镇（街道）"
    if not values.get("incident_date"):
        errors["incident_date"] = "请填写事发日期"
    if errors:
        return None, errors
    try:
        return duty_list.accountability_report(current_user, values["item_code"], values["township"],
                                               values["incident_date"]), {}
    except Forbidden:
        raise
    except CaseError as e:
        return None, dict(e.errors or {"item_code": e.message})


@duty_list_bp.route("/accountability", methods=["GET", "POST"])
@login_required
def accountability():
    reviews = duty_list.reviews(current_user)
    report, errors = None, {}
    if request.method == "POST":
        values = {k: request.form.get(k, "").strip() for k in REPORT_FIELDS + ("decision", "reason")}
        errors = _checked(values)
        if not errors:
            try:
                review = duty_list.record_review(current_user, values["item_code"], values["township"],
                                                 values["incident_date"], values["description"],
                                                 values["decision"] or None, values["reason"])
            except Forbidden:
                raise
            except CaseError as e:
                errors = dict(e.errors or {"decision": e.message})
                if "decision" in errors and values["decision"] not in DECISIONS:
                    errors["decision"] = "请选择免责或问责"
            else:
                names = orgs.org_names()
                flash(f"已记录认定：{names.get(review.township, review.township)} · {review.item_code} · "
                      f"{DECISIONS[review.decision]}", "ok")
                return redirect(url_for("duty_list.accountability") + "#reviews")
        flash("认定填写有误，请检查标红的项目", "error")
        report, _ = _report(values)
    else:
        values = {k: request.args.get(k, "").strip() for k in REPORT_FIELDS}
        if any(values[k] for k in ("item_code", "township", "incident_date")) or "report" in request.args:
            report, errors = _report(values)
            if errors:
                flash("请检查填写", "error")
        if not values["incident_date"] and not errors:
            values["incident_date"] = utcnow().astimezone(local_zone()).date().isoformat()
    current = duty_list.version()
    by_domain = {}
    for i in duty_list.items(current) if current else []:
        by_domain.setdefault(i.domain, []).append((i.code, i.name))
    item_groups = sorted(by_domain.items(), key=lambda g: DOMAINS.index(g[0]) if g[0] in DOMAINS else len(DOMAINS))
    return render_template("accountability.html", values=values, errors=errors, report=report,
                           item_groups=item_groups, townships=orgs.form_options("townships"),
                           reviews=reviews, org_names=orgs.org_names(), user_names=orgs.user_names(),
                           PROPOSALS=PROPOSALS, DECISIONS=DECISIONS, at=at), (422 if errors else 200)
