"""The rule table (积分规则) the district edits, its versions, and a resource's point value under it.

A resource's value = base (by its form if the table names the form, else by its kind of file) × size factor ×
quality factor, rounded, at least 1. The size factor is the resource's size in the kind's unit (minutes of video
or audio, pages of a document, else megabytes) divided by the unit's "per", held between a floor and a cap.
"""
import json
import math
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from plugins.points import periods
from plugins.points.models import RuleVersion
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import Term
from reslib.permissions import can
from reslib.services import audit

FILE_KINDS = {"video": _l("视频"), "audio": _l("音频"), "pdf": _l("PDF 文档"), "document": _l("文档"),
              "image": _l("图片"), "archive": _l("压缩包"), "link": _l("链接")}
SIZE_UNITS = {"video": "minutes", "audio": "minutes", "document": "pages", "other": "mb"}
UNIT_LABELS = {"minutes": _l("分钟"), "pages": _l("页"), "mb": "MB"}
GRADES = {"excellent": _l("优"), "good": _l("良"), "pass": _l("合格"), "none": _l("未评级")}
ACTIONS = {"study": _l("学习视频或音频（播放达到阈值）"), "view": _l("浏览文档等其他资源"), "download": _l("下载资源"),
           "rate": _l("评价资源（带评论）"), "share": _l("自己的资源被他人学习一次")}
PRIZES = {"first": _l("一等奖"), "second": _l("二等奖"), "third": _l("三等奖"), "other": _l("其他奖项")}
RANKING = {"contribution": _l("贡献（人均资源贡献积分）"), "use": _l("使用（人均资源使用次数）"),
           "baseline": _l("达标（达到基本分值的师生比例）")}
LIMITS = {"points": 10_000, "factor": 100, "per": 10_000, "caps": 1_000, "repeat_days": 366}

DEFAULT_RULES = {
    "base": {"video": 10, "audio": 6, "pdf": 5, "document": 5, "image": 2, "archive": 4, "link": 2},
    "form_base": {},  # 资源形式 name → base, overriding the kind's (e.g. {"课件": 8})
    "size": {
        "video": {"per": 10, "floor": 0.5, "cap": 3},  # per 10 minutes
        "audio": {"per": 10, "floor": 0.5, "cap": 2},
        "document": {"per": 20, "floor": 0.5, "cap": 3},  # per 20 pages
        "other": {"per": 10, "floor": 0.5, "cap": 2},  # per 10 MB
    },
    "quality": {"excellent": 2.0, "good": 1.5, "pass": 1.0, "none": 1.0},
    "actions": {"study": 2, "view": 1, "download": 1, "rate": 1, "share": 1},
    "prizes": {"first": 50, "second": 30, "third": 20, "other": 10},
    "study_threshold": 60,  # per cent of a video or audio actually played
    "daily_caps": {"study": 20, "view": 20, "download": 10, "rate": 5, "share": 50},
    "repeat_days": 1,  # the same use of the same resource earns once in this many days
    "ranking": {"contribution": 0.4, "use": 0.3, "baseline": 0.3},
}


def _number(value, limit, *, integer: bool, where: str):
    if isinstance(value, str):
        value = value.strip()
        try:
            value = int(value) if integer else float(value)
        except ValueError:
            raise ReslibError(_("%(where)s：应为%(kind)s", where=where, kind=_("整数") if integer else _("数字")),
                              field=where) from None
    if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not float(value).is_integer()):
        raise ReslibError(_("%(where)s：应为%(kind)s", where=where, kind=_("整数") if integer else _("数字")),
                          field=where)
    if not math.isfinite(value) or not 0 <= value <= limit:
        raise ReslibError(_("%(where)s：应在 0 到 %(max)s 之间", where=where, max=limit), field=where)
    return int(value) if integer else round(float(value), 3)


def check(rules: dict) -> dict:
    """The rule table, every figure checked and in its type; a ReslibError naming the first one at fault."""
    checked = {"base": {}, "form_base": {}, "size": {}, "quality": {}, "actions": {}, "prizes": {}, "daily_caps": {},
               "ranking": {}}
    for kind, label in FILE_KINDS.items():
        checked["base"][kind] = _number(rules["base"][kind], LIMITS["points"], integer=True,
                                        where=_("基础分（%(kind)s）", kind=label))
    forms = set(db.session.scalars(select(Term.name).where(Term.vocabulary == "form")))
    for form, points in (rules.get("form_base") or {}).items():
        if form not in forms:
            raise ReslibError(_("没有名为“%(name)s”的资源形式", name=form), field="form_base")
        checked["form_base"][form] = _number(points, LIMITS["points"], integer=True,
                                             where=_("基础分（%(kind)s）", kind=form))
    for unit in SIZE_UNITS:
        size = rules["size"][unit]
        where = _("容量系数（%(unit)s）", unit=_size_label(unit))
        checked["size"][unit] = {"per": _number(size["per"], LIMITS["per"], integer=False, where=where),
                                 "floor": _number(size["floor"], LIMITS["factor"], integer=False, where=where),
                                 "cap": _number(size["cap"], LIMITS["factor"], integer=False, where=where)}
        if checked["size"][unit]["per"] <= 0:
            raise ReslibError(_("%(where)s：每单位的量应大于 0", where=where), field=where)
        if checked["size"][unit]["floor"] > checked["size"][unit]["cap"]:
            raise ReslibError(_("%(where)s：下限不能高于上限", where=where), field=where)
    for grade, label in GRADES.items():
        checked["quality"][grade] = _number(rules["quality"][grade], LIMITS["factor"], integer=False,
                                            where=_("质量系数（%(grade)s）", grade=label))
    for action, label in ACTIONS.items():
        checked["actions"][action] = _number(rules["actions"][action], LIMITS["points"], integer=True, where=str(label))
        checked["daily_caps"][action] = _number(rules["daily_caps"][action], LIMITS["caps"], integer=True,
                                                where=_("每日上限（%(action)s）", action=label))
    for prize, label in PRIZES.items():
        checked["prizes"][prize] = _number(rules["prizes"][prize], LIMITS["points"], integer=True, where=str(label))
    checked["study_threshold"] = _number(rules["study_threshold"], 100, integer=True, where=_("学习阈值（%）"))
    if checked["study_threshold"] < 10:
        raise ReslibError(_("学习阈值（%）：至少 10%"), field="study_threshold")
    checked["repeat_days"] = _number(rules["repeat_days"], LIMITS["repeat_days"], integer=True, where=_("重复计分间隔（天）"))
    if checked["repeat_days"] < 1:
        raise ReslibError(_("重复计分间隔（天）：至少 1 天"), field="repeat_days")
    for part, label in RANKING.items():
        checked["ranking"][part] = _number(rules["ranking"][part], 1, integer=False, where=str(label))
    if not sum(checked["ranking"].values()):
        raise ReslibError(_("排名权重不能全为 0"), field="ranking")
    return checked


def _size_label(unit: str) -> str:
    kinds = {"video": _("视频"), "audio": _("音频"), "document": _("文档"), "other": _("其他")}
    return f"{kinds[unit]}，{UNIT_LABELS[SIZE_UNITS[unit]]}"


# --- versions -------------------------------------------------------------------------------------

def versions() -> list[RuleVersion]:
    """Every version, oldest first (by day, then by when it was saved)."""
    return list(db.session.scalars(select(RuleVersion).order_by(RuleVersion.effective_from, RuleVersion.id)))


FIRST_DAY = date(2000, 1, 1)  # the shipped rules are in effect from before any event


def version_on(day: date, at: datetime | None = None) -> RuleVersion:
    """The version in effect on the local ``day``: the last saved of those whose day had come by then. With
    ``at`` (naive UTC, on that day), the one in effect at that moment: a version saved during its own first day
    rules only from when it was saved, so what was earned earlier that day keeps the rules it was earned under."""
    stmt = select(RuleVersion).where(RuleVersion.effective_from <= day)
    if at is not None:
        stmt = stmt.where(RuleVersion.created_at <= at)
    version = db.session.scalar(stmt.order_by(RuleVersion.effective_from.desc(), RuleVersion.id.desc()).limit(1))
    return version or first_version()


def first_version() -> RuleVersion:
    """The earliest version; the shipped defaults, written on first need where the migration did not."""
    version = db.session.scalar(select(RuleVersion).order_by(RuleVersion.effective_from, RuleVersion.id).limit(1))
    if version is None:
        version = RuleVersion(effective_from=FIRST_DAY, rules_json=dump(DEFAULT_RULES))
        db.session.add(version)
        db.session.flush()
    return version


# --- a new version, from the rules page ---------------------------------------------------------------

NOTE_MAX = 255


class RulesInvalid(ReslibError):
    """A table refused: ``errors`` maps each figure at fault ("size.video.cap", "effective_from", "note",
    "ranking") to its message; ``field`` and ``message`` are the first one's. Nothing was saved."""

    def __init__(self, errors: dict[str, str]):
        field, message = next(iter(errors.items()))
        super().__init__(message, field=field)
        self.errors = errors


def figures(form_names=()) -> list[tuple[tuple[str, ...], str, bool, float]]:
    """Every figure of a table in check()'s order, as (where it sits in the table, how check() names it, whether a
    whole number, its largest value), with a 资源形式's base for each of ``form_names``."""
    found = [(("base", kind), _("基础分（%(kind)s）", kind=label), True, LIMITS["points"])
             for kind, label in FILE_KINDS.items()]
    found += [(("form_base", form), _("基础分（%(kind)s）", kind=form), True, LIMITS["points"]) for form in form_names]
    for unit in SIZE_UNITS:
        where = _("容量系数（%(unit)s）", unit=_size_label(unit))
        found += [(("size", unit, "per"), where, False, LIMITS["per"]),
                  (("size", unit, "floor"), where, False, LIMITS["factor"]),
                  (("size", unit, "cap"), where, False, LIMITS["factor"])]
    found += [(("quality", grade), _("质量系数（%(grade)s）", grade=label), False, LIMITS["factor"])
              for grade, label in GRADES.items()]
    for action, label in ACTIONS.items():
        found += [(("actions", action), str(label), True, LIMITS["points"]),
                  (("daily_caps", action), _("每日上限（%(action)s）", action=label), True, LIMITS["caps"])]
    found += [(("prizes", prize), str(label), True, LIMITS["points"]) for prize, label in PRIZES.items()]
    found += [(("study_threshold",), _("学习阈值（%）"), True, 100),
              (("repeat_days",), _("重复计分间隔（天）"), True, LIMITS["repeat_days"])]
    found += [(("ranking", part), str(label), False, 1) for part, label in RANKING.items()]
    return found


def save_version(actor, table: dict, effective_from, note: str) -> RuleVersion:
    """Save ``table`` as a new version in effect from ``effective_from`` (a date or its text, today or later: the
    days gone by keep the rules they were credited under), and audit it. Every figure is checked; RulesInvalid
    names each one at fault, and then nothing is saved."""
    if not can(actor, "district.manage"):
        raise ReslibError(_("只有区教育局管理员可以修改积分规则"), code="forbidden", status=403)
    errors = {}
    try:
        effective_from = periods.parse_day(effective_from, "effective_from")
    except ReslibError as exc:
        errors["effective_from"] = exc.message
    else:
        today = periods.local_today()
        if effective_from < today:
            errors["effective_from"] = _("生效日期不能早于今天（%(today)s）：过去的日子已按当时的规则计分，不能改写",
                                         today=today.isoformat())
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        errors["note"] = _("说明不能超过 %(n)s 个字", n=NOTE_MAX)
    for path, where, integer, limit in figures(table.get("form_base") or {}):
        value = table
        for key in path:
            value = value[key]
        try:
            _number(value, limit, integer=integer, where=where)
        except ReslibError as exc:
            errors[".".join(path)] = exc.message
    checked = None
    if not errors:  # each figure is fine: what is left is how they go together
        try:
            checked = check(table)
        except ReslibError as exc:
            errors[_figure_at_fault(exc, table)] = exc.message
    if errors:
        raise RulesInvalid(errors)
    first_version()  # the shipped rules stay in effect before the new version's day
    version = RuleVersion(effective_from=effective_from, rules_json=dump(checked), note=note,
                          created_by_id=actor.id)
    db.session.add(version)
    db.session.flush()
    audit.record("points.rules", actor=actor, detail=_l("第 %(id)s 版积分规则，%(day)s 起生效。%(note)s", id=version.id,
                                                         day=effective_from.isoformat(), note=note))
    db.session.commit()
    return version


def _figure_at_fault(exc: ReslibError, table: dict) -> str:
    """Which figure check() refused, where its error names only the figure's label (or a part of the table)."""
    for unit in SIZE_UNITS:
        if exc.field == _("容量系数（%(unit)s）", unit=_size_label(unit)):  # "per" must be above 0, "floor" ≤ "cap"
            return f"size.{unit}.per" if round(float(table["size"][unit]["per"]), 3) <= 0 else f"size.{unit}.floor"
    for path, where, _integer, _limit in figures(table.get("form_base") or {}):
        if exc.field == where:
            return ".".join(path)
    return exc.field or "table"


class VersionsOnDays:
    """The versions in memory, for crediting many events at once (a recompute)."""

    def __init__(self):
        first_version()
        self.all = versions()
        self._rules = {version.id: version.rules for version in self.all}

    def on(self, day: date, at: datetime) -> RuleVersion:
        """As version_on(day, at)."""
        chosen = self.all[0]
        for version in self.all:  # a handful of versions: a scan is cheaper than anything cleverer
            if version.effective_from <= day and version.created_at <= at:
                chosen = version
        return chosen

    def rules(self, version: RuleVersion) -> dict:
        return self._rules[version.id]


# --- a resource's value --------------------------------------------------------------------------

@dataclass(frozen=True)
class Value:
    points: int
    base: int
    base_of: str  # the kind or the form that gave the base
    size_factor: float
    size: float | None  # in the unit below; None when unknown (factor 1)
    unit: str | None
    quality_factor: float
    grade: str

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def value_of(resource, rules: dict) -> Value:
    kind = "link" if resource.link_url and not resource.file_kind else (resource.file_kind or "link")
    form = resource.form.name if resource.form else None
    if form in rules["form_base"]:
        base, base_of = rules["form_base"][form], form
    else:
        base, base_of = rules["base"].get(kind, 0), kind
    size, unit, factor = _size(resource, kind, rules)
    grade = resource.grade if resource.grade in rules["quality"] else "none"
    quality = rules["quality"][grade]
    points = max(1, round(base * factor * quality)) if base else 0
    return Value(points=points, base=base, base_of=base_of, size_factor=factor, size=size, unit=unit,
                 quality_factor=quality, grade=grade)


def _size(resource, kind: str, rules: dict) -> tuple[float | None, str | None, float]:
    """(the size in its unit, the unit, the factor); a link, or a size the worker has not measured yet, is 1."""
    if kind == "link":
        return None, None, 1.0
    probe = resource.probe
    key = kind if kind in ("video", "audio") else "document" if kind in ("pdf", "document") else "other"
    unit = SIZE_UNITS[key]
    if unit == "minutes":
        size = probe.get("duration") and probe["duration"] / 60
    elif unit == "pages":
        size = probe.get("page_count")
    else:
        size = None
    if size is None and resource.file_size:  # a document whose pages are not counted is measured by its bytes
        key, unit, size = "other", "mb", resource.file_size / 1024 / 1024
    if not size:
        return None, None, 1.0
    limits = rules["size"][key]
    factor = min(limits["cap"], max(limits["floor"], size / limits["per"]))
    return round(size, 1), unit, round(factor, 2)


def dump(rules: dict) -> str:
    return json.dumps(rules, ensure_ascii=False, sort_keys=True)
