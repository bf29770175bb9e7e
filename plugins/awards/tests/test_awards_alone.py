"""The awards plugin on its own: with points and sync_provincial off, a competition runs to its certificates."""
import pytest
from sqlalchemy import select

from plugins.awards import judging, results, service
from plugins.awards.models import Certificate
from reslib.extensions import db
from reslib.testing import login


@pytest.fixture
def app_config():
    return {"PLUGINS": ["awards"]}


def test_a_competition_runs_to_its_certificates_without_the_other_plugins(client, stage):
    stage.open()
    entry = stage.enter(stage.district.teacher_a, "光的折射")
    stage.enter(stage.district.teacher_b, "勾股定理")
    stage.judging()
    judging.assign_automatically(stage.admin, stage.competition)
    for each in stage.competition_entries():
        stage.score(each, 90 if each.id == entry.id else 70, 88 if each.id == entry.id else 72)
    service.set_status(stage.admin, stage.competition, "closed")
    assert results.publish(stage.admin, stage.competition) == 1
    certificate = db.session.scalars(select(Certificate)).one()
    assert certificate.holder_id == stage.district.teacher_a.id
    login(client, "teacher.a")
    assert client.get(f"/awards/certificates/{certificate.number}.pdf").status_code == 200
    assert "/points/" not in client.get("/dashboard").get_data(as_text=True)
