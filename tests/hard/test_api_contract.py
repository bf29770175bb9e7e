"""The API keeps to its OpenAPI document: schemathesis makes requests for every operation of /api/v1/openapi.json
from the document itself (valid ones, and invalid ones that must be refused) and holds each answer to it with all
its checks: no server error; every status, content type and body as documented; invalid data refused and valid
data accepted; a request without the token refused; a method the path lacks answered 405 with Allow.

It runs in-process (WSGI) against a small district whose two schools have resources at each step of the workflow,
once with the token of each school's admin (a teacher too) and once with a student's. Resource ids in paths are
often those resources', so the operations act on them instead of only answering 404. The examples are
derandomized and bounded: a run is repeatable and takes about a minute on two cores.
"""
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from werkzeug.test import Client

from reslib.extensions import db
from reslib.models import ReviewAssignment
from reslib.models.base import MAX_ID
from reslib.services import accounts
from reslib.testing import add_resource, make_test_app, ready_resource, second_reviewer

EXAMPLES = 50  # generated per operation and token, besides the boundary cases of the coverage phase
STATES = ("draft", "submitted", "school_approved", "district_review", "published", "returned")
WITHOUT_FILE = {"file_sha256": None, "file_name": None, "file_size": None, "file_kind": None, "file_mime": None}

# A request that fits the document can still break a rule the document cannot state. These operations answer it
# with these statuses, as their documents say, besides those schemathesis expects for valid data.
RULES_BEYOND_THE_DOCUMENT = {
    "POST /api/v1/resources": ["415", "422"],  # a file of no kind the library takes; a link or term refused
    "PATCH /api/v1/resources/{resource_id}": ["422"],  # a term not in its vocabulary, a column of another section
    "POST /api/v1/resources/{resource_id}/submit": ["422"],  # metadata the standard needs is missing
    "POST /api/v1/resources/{resource_id}/decisions": ["400"],  # a reason missing, a decision of the other stage
    "POST /api/v1/resources/{resource_id}/panel": ["400"],  # a reviewer of the resource's school, too few, a past date
    "PUT /api/v1/resources/{resource_id}/scores": ["422"],  # a criterion of the rubric missing or above its maximum
    "GET /api/v1/resources/{resource_id}/download": ["416"],  # a range past the end of the file
}
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429"]  # schemathesis's default for valid data, but no 5xx


def seed(district) -> list[int]:
    """Resources of both schools at each step, owned by the two admins (whose tokens act on their own) and by a
    teacher of each school, and a link resource of each; their ids."""
    reviewer = second_reviewer(district)  # of a third school: on the panel of either school's resources
    ids = []
    for owner in (district.admin_a, district.teacher_a, district.admin_b, district.teacher_b):
        for state in STATES:
            resource = ready_resource(owner, status=state, title=f"{owner.username} {state}",
                                      content=f"%PDF-1.4 {owner.username} {state}".encode())
            if state == "district_review":
                db.session.add(ReviewAssignment(resource_id=resource.id, reviewer_id=reviewer.id))
            ids.append(resource.id)
        ids.append(add_resource(owner, title=f"{owner.username} 链接", link_url="https://example.org/",
                                **WITHOUT_FILE).id)
    db.session.commit()
    return ids


def document() -> dict:
    """The OpenAPI document as the app serves it; it holds no data, so an app without a database serves it."""
    with tempfile.TemporaryDirectory() as folder:
        app = make_test_app(Path(folder), SQLALCHEMY_DATABASE_URI="sqlite://")
        return app.test_client().get("/api/v1/openapi.json").get_json()


schema = schemathesis.openapi.from_dict(document(), config=SchemathesisConfig.from_dict({
    "seed": 26,
    "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none"},
    "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}},
    "operations": [{"include-name": name,
                    "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED + statuses}}}
                   for name, statuses in RULES_BEYOND_THE_DOCUMENT.items()],
}))


class Running:
    """The running test's district: its resources, and the token of the account the API is called as (set by the
    caller fixture, read while the cases are generated)."""

    resources: list[int] = []
    token = ""


@schema.auth(refresh_interval=None)
class Token:
    """The running test's token on every request but those that leave it out to see them refused (schemathesis
    knows which; a header given to the call would put it back)."""

    def get(self, case, context):
        return Running.token

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Mostly one of the test's resources instead of the id generated, when that id is a valid one: an invalid id
    (a negative case) stays, to be refused."""
    resource_id = (path_parameters or {}).get("resource_id")
    if not isinstance(resource_id, int) or not 1 <= resource_id <= MAX_ID:
        return st.just(path_parameters)
    real = st.sampled_from(Running.resources).map(lambda real_id: {**path_parameters, "resource_id": real_id})
    return st.one_of(real, real, st.just(path_parameters))  # two times in three


class BufferingClient(Client):
    """schemathesis reads each answer whole but leaves it open, so a file the app sends (a download) would stay open
    until collected, and its ResourceWarning would fail the test (warnings are errors): read it and close it."""

    def open(self, *args, **kwargs):
        return super().open(*args, buffered=True, **kwargs)


@pytest.fixture(params=["admin.a", "admin.b", "student.a"])
def caller(request, app, district) -> dict:
    """Calls as one account: the admin (and teacher) of school A or of school B, or a student of school A."""
    Running.resources = seed(district)
    Running.token = accounts.create_token(getattr(district, request.param.replace(".", "_")), "schemathesis")
    return {"app": app, "session": BufferingClient(app, use_cookies=False)}


def refused_by_its_own_document(ctx, response, case):
    """What the document allows, the check of a body against it never refuses: it is the same document, so such a
    refusal means the two disagree (the operations above that answer 400 for their rules would hide it)."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code != 400:
        return None
    assert response.json()["error"]["code"] != "invalid_body", response.json()["error"]
    return None


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # one district for all of an operation's cases
def test_the_api_keeps_to_its_document(case, caller):
    case.operation.schema.app = caller["app"]  # where the checks send requests of their own (one without the token)
    case.call_and_validate(additional_checks=[refused_by_its_own_document], **caller)
