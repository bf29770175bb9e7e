"""A district with manual points from before earning existed upgrades without losing one: each entry keeps its
amount and reason, gets a source key and its local day, and counts in its term once the totals are rebuilt."""
from datetime import date

from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from plugins.points import periods, recompute, service
from plugins.points.models import PointEntry, RuleVersion
from reslib.extensions import db
from reslib.models import User
from reslib.testing import make_test_app, running


def test_manual_entries_survive_the_upgrade_to_earning(tmp_path):
    app = make_test_app(tmp_path)
    with running(app):
        upgrade(revision="heads")
        downgrade(revision="0001_points")  # the points schema as a district had it before this release
        db.session.execute(text("INSERT INTO unit (name) VALUES ('东城片区')"))
        db.session.execute(text("INSERT INTO school (name, unit_id, created_at) VALUES ('第一小学', 1, CURRENT_TIMESTAMP)"))
        db.session.execute(text(
            "INSERT INTO account (username, password_hash, real_name, school_id, status, must_change_password, "
            "failed_logins, created_at) VALUES ('old.teacher', 'x', '老教师', 1, 'active', false, 0, '2020-01-01')"))
        # 23:30 on 31 January in Beijing: the autumn term, though it is already 1 February in UTC+0's evening
        db.session.execute(text(
            "INSERT INTO points_entry (user_id, amount, reason, kind, awarded_by_id, created_at) VALUES "
            "(1, 15, '区级公开课', 'manual', NULL, '2026-01-31 15:30:00'), "
            "(1, -3, '更正', 'manual', NULL, '2026-02-10 02:00:00')"))
        db.session.commit()
        upgrade(revision="heads")
        rows = db.session.execute(select(PointEntry.amount, PointEntry.reason, PointEntry.source_key, PointEntry.day,
                                         PointEntry.school_id).order_by(PointEntry.id)).all()
        assert [tuple(row) for row in rows] == [(15, "区级公开课", "manual:1", date(2026, 1, 31), 1),
                                                (-3, "更正", "manual:2", date(2026, 2, 10), 1)]
        assert db.session.scalar(select(RuleVersion.effective_from)) == date(2000, 1, 1)
        recompute.recompute()
        teacher = db.session.scalar(select(User).where(User.username == "old.teacher"))
        assert service.balance(teacher, periods.term_on(date(2026, 1, 31))) == 15
        assert service.balance(teacher, periods.term_on(date(2026, 2, 10))) == -3
