"""A district that filled in the yearly quota grid upgrades to rounds without losing a cell."""
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from plugins.sync_provincial.models import RecommendationQuota, RecommendationRound
from reslib.extensions import db
from reslib.testing import make_test_app, running


def test_each_years_quotas_become_that_years_round_and_come_back_on_downgrade(tmp_path):
    app = make_test_app(tmp_path)
    with running(app):
        upgrade(revision="0001_sync_provincial")  # the yearly grid, before rounds
        db.session.execute(text("INSERT INTO unit (name) VALUES ('平江县'), ('云溪区')"))
        db.session.execute(text(
            "INSERT INTO sync_provincial_quota (unit_id, section, quota, year, updated_at) VALUES "
            "(1, '德育', 5, 2022, CURRENT_TIMESTAMP), (2, '德育', 3, 2022, CURRENT_TIMESTAMP), "
            "(1, '德育', 4, 2023, CURRENT_TIMESTAMP)"))
        db.session.commit()
        upgrade(revision="heads")
        by_year = {round_.year: round_ for round_ in db.session.scalars(select(RecommendationRound))}
        assert sorted(by_year) == [2022, 2023]
        assert by_year[2022].section_list()[0] == "德育" and by_year[2022].status == "closed"
        cells = {(row.round_id, row.unit_id, row.quota) for row in db.session.scalars(select(RecommendationQuota))}
        assert cells == {(by_year[2022].id, 1, 5), (by_year[2022].id, 2, 3), (by_year[2023].id, 1, 4)}
        db.session.commit()

        downgrade(revision="0001_sync_provincial")
        rows = db.session.execute(text("SELECT unit_id, year, quota FROM sync_provincial_quota ORDER BY year, unit_id"))
        assert [tuple(row) for row in rows] == [(1, 2022, 5), (2, 2022, 3), (1, 2023, 4)]
