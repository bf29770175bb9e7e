"""Importing a school's roster (花名册) and the district's list of schools, row by row, all or nothing."""
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import RosterEntry, School, Unit, User
from reslib.permissions import require
from reslib.plugins import hooks
from reslib.services import audit
from reslib.services.accounts import mark_verified
from reslib.services.identity import normalise_identifier, normalise_real_name
from reslib.services.tables import read_table

ROSTER_COLUMNS = {
    "real_name": ("姓名", "name", "real_name"),
    "identifier": ("学号/工号", "学号", "工号", "编号", "identifier", "number"),
    "role": ("身份", "角色", "role"),
}
ROLE_WORDS = {"学生": "student", "student": "student", "教师": "teacher", "老师": "teacher", "teacher": "teacher"}

SCHOOL_COLUMNS = {
    "name": ("学校名称", "学校", "name", "school"),
    "unit": ("所属单位", "区县/片区", "片区", "区县", "unit"),
    "code": ("学校代码", "代码", "code"),
}


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    verified: int = 0
    errors: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def _row_error(number: int, message: str) -> str:
    return _("第 %(n)s 行：%(msg)s", n=number, msg=message)


def import_roster(actor, school: School, filename: str, data: bytes, *, dry_run: bool = False) -> ImportReport:
    """Add or update roster rows for ``school``; pending accounts that now match are verified.

    Nothing is written when any row has an error: the report lists every bad row so the file
    can be fixed and uploaded again (re-importing the same file changes nothing).
    """
    require(actor, "roster.import", school)
    table = read_table(filename, data, ROSTER_COLUMNS, required=("real_name", "identifier", "role"),
                       max_rows=current_app.config["ROSTER_MAX_ROWS"])
    report = ImportReport(dry_run=dry_run)
    seen = {}
    parsed = []
    for number, cells in table.rows:
        try:
            name = normalise_real_name(cells["real_name"])
            identifier = normalise_identifier(cells["identifier"])
        except ReslibError as exc:
            report.errors.append(_row_error(number, exc.message))
            continue
        role = ROLE_WORDS.get(cells["role"].strip().lower())
        if role is None:
            report.errors.append(_row_error(number, _("身份应为“学生”或“教师”")))
            continue
        if identifier in seen:
            report.errors.append(_row_error(number, _("学号/工号 %(id)s 与第 %(n)s 行重复", id=identifier, n=seen[identifier])))
            continue
        seen[identifier] = number
        parsed.append((identifier, name, role))
    if report.errors or dry_run:
        _count_changes(school, parsed, report)
        return report

    existing = {e.identifier: e for e in db.session.scalars(select(RosterEntry).where(RosterEntry.school_id == school.id))}
    for identifier, name, role in parsed:
        entry = existing.get(identifier)
        if entry is None:
            db.session.add(RosterEntry(school_id=school.id, identifier=identifier, real_name=name, role=role))
            report.created += 1
        elif (entry.real_name, entry.role) != (name, role):
            entry.real_name, entry.role = name, role
            report.updated += 1
    roster = {identifier: (name, role) for identifier, name, role in parsed}
    pending = db.session.scalars(select(User).where(User.school_id == school.id, User.status == "pending"))
    newly_verified = []
    for user in pending:
        name_role = roster.get(user.identifier)
        if name_role and name_role[0] == user.real_name and user.has_role(name_role[1]):
            mark_verified(user, actor)
            audit.record("account.verified", actor=actor, target=user, detail=_l("与学校花名册一致，自动通过"))
            newly_verified.append(user)
    report.verified = len(newly_verified)
    audit.record("roster.imported", actor=actor, target=f"school:{school.id}", school_id=school.id,
                 detail=_l("%(file)s：新增 %(created)s，更新 %(updated)s，自动通过实名审核 %(verified)s",
                           file=filename, created=report.created, updated=report.updated, verified=report.verified))
    db.session.commit()
    for user in newly_verified:
        hooks().account_changed(user=user, change="verified", actor=actor)
    return report


def _count_changes(school, parsed, report) -> None:
    existing = {e.identifier: (e.real_name, e.role) for e in db.session.scalars(select(RosterEntry).where(RosterEntry.school_id == school.id))}
    for identifier, name, role in parsed:
        if identifier not in existing:
            report.created += 1
        elif existing[identifier] != (name, role):
            report.updated += 1


def import_schools(actor, filename: str, data: bytes, *, dry_run: bool = False) -> ImportReport:
    """Add or update schools by name; units (区县/片区) are created as named."""
    require(actor, "schools.manage")
    table = read_table(filename, data, SCHOOL_COLUMNS, required=("name", "unit"), max_rows=current_app.config["ROSTER_MAX_ROWS"])
    report = ImportReport(dry_run=dry_run)
    parsed, names, codes = [], {}, {}
    for number, cells in table.rows:
        name, unit, code = cells["name"], cells["unit"], cells.get("code") or None
        if not name or len(name) > 128:
            report.errors.append(_row_error(number, _("学校名称 不能为空，且不超过 128 个字")))
        elif not unit or len(unit) > 64:
            report.errors.append(_row_error(number, _("所属单位 不能为空，且不超过 64 个字")))
        elif name in names:
            report.errors.append(_row_error(number, _("学校“%(name)s”与第 %(n)s 行重复", name=name, n=names[name])))
        elif code and code in codes:
            report.errors.append(_row_error(number, _("学校代码 %(code)s 与第 %(n)s 行重复", code=code, n=codes[code])))
        else:
            names[name] = number
            if code:
                codes[code] = number
            parsed.append((number, name, unit, code))
    schools = {s.name: s for s in db.session.scalars(select(School))}
    by_code = {s.code: s for s in schools.values() if s.code}
    for number, name, _unit, code in parsed:
        other = by_code.get(code) if code else None
        if other is not None and other.name != name:
            report.errors.append(_row_error(number, _("学校代码 %(code)s 已属于“%(name)s”", code=code, name=other.name)))
    if report.errors or dry_run:
        report.created = sum(1 for _n, name, _u, _c in parsed if name not in schools)
        return report
    units = {u.name: u for u in db.session.scalars(select(Unit))}
    for _number, name, unit_name, code in parsed:
        unit = units.get(unit_name)
        if unit is None:
            unit = units[unit_name] = Unit(name=unit_name)
            db.session.add(unit)
        school = schools.get(name)
        if school is None:
            db.session.add(School(name=name, unit=unit, code=code))
            report.created += 1
        elif (school.unit_id, school.code) != (unit.id, code or school.code):
            school.unit, school.code = unit, code or school.code
            report.updated += 1
    audit.record("schools.imported", actor=actor, target="schools",
                 detail=_l("%(file)s：新增 %(created)s，更新 %(updated)s", file=filename, created=report.created,
                           updated=report.updated))
    db.session.commit()
    return report


def add_school(actor, name: str, unit_name: str, code: str | None = None) -> School:
    require(actor, "schools.manage")
    name, unit_name, code = (name or "").strip(), (unit_name or "").strip(), (code or "").strip() or None
    if not name:
        raise ReslibError(_("请填写学校名称"), field="name")
    if not unit_name:
        raise ReslibError(_("请填写所属单位"), field="unit")
    if db.session.scalar(select(School.id).where(School.name == name)):
        raise ReslibError(_("已有同名学校"), field="name", code="duplicate")
    if code and db.session.scalar(select(School.id).where(School.code == code)):
        raise ReslibError(_("学校代码已被使用"), field="code", code="duplicate")
    unit = db.session.scalar(select(Unit).where(Unit.name == unit_name)) or Unit(name=unit_name)
    school = School(name=name, unit=unit, code=code)
    db.session.add(school)
    audit.record("schools.imported", actor=actor, target="schools", detail=_l("添加 %(name)s", name=name))
    db.session.commit()
    return school
