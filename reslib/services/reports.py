"""Read-only figures for dashboards."""
from sqlalchemy import func, select

from reslib.extensions import db
from reslib.models import School, Unit, User, UserRole


def accounts_by_status() -> dict[str, int]:
    return dict(db.session.execute(select(User.status, func.count(User.id)).group_by(User.status)).all())


def district_overview() -> dict:
    by_status = accounts_by_status()
    by_role = dict(db.session.execute(select(UserRole.role, func.count(UserRole.user_id)).group_by(UserRole.role)).all())
    pending = dict(
        db.session.execute(
            select(User.school_id, func.count(User.id)).where(User.status == "pending").group_by(User.school_id)
        ).all()
    )
    members = dict(db.session.execute(select(User.school_id, func.count(User.id)).group_by(User.school_id)).all())
    units = db.session.scalars(select(Unit).order_by(Unit.name)).all()
    schools = [
        {"school": s, "unit": u, "members": members.get(s.id, 0), "pending": pending.get(s.id, 0)}
        for u, s in schools_by_unit(units)
    ]
    return {"by_status": by_status, "by_role": by_role, "schools": schools, "units": len(units)}


def schools_by_unit(units=None) -> list[tuple[Unit, School]]:
    """Every (unit, school), units and their schools in name order: the rows of a district table."""
    if units is None:
        units = db.session.scalars(select(Unit).order_by(Unit.name)).all()
    return [(unit, school) for unit in units for school in unit.schools]


def school_overview(school: School) -> dict:
    rows = db.session.execute(
        select(UserRole.role, User.status, func.count(User.id))
        .join(User, User.id == UserRole.user_id)
        .where(User.school_id == school.id)
        .group_by(UserRole.role, User.status)
    ).all()
    by_role: dict[str, dict[str, int]] = {}
    for role, status, count in rows:
        by_role.setdefault(role, {})[status] = count
    pending = db.session.scalar(select(func.count(User.id)).where(User.school_id == school.id, User.status == "pending"))
    return {"school": school, "by_role": by_role, "pending": pending}
