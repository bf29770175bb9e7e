"""The one permission policy: ``can(user, action, target)``. Views, the API, exports and plugins all ask it.

Each rule answers for an active (verified, not disabled) account; anonymous and inactive
accounts may do nothing here. A plugin can refuse through the ``can_access`` hook, never grant.
"""
from flask import abort
from werkzeug.local import LocalProxy

from reslib.models import Resource, ReviewAssignment, School, User
from reslib.models.library import VISIBLE_STATUSES
from reslib.plugins import hooks


def _district_admin(user, target=None):
    return user.has_role("district_admin")


def _school_of(target):
    if isinstance(target, School):
        return target.id
    if isinstance(target, (User, Resource)):
        return target.school_id
    return None


def _admin_of(user, target):
    """District admins administer everyone; a school admin administers their own school's people."""
    if user.has_role("district_admin"):
        return True
    if not user.has_role("school_admin") or user.school_id is None:
        return False
    if isinstance(target, User) and target.has_role("district_admin", "reviewer", "school_admin") and target.id != user.id:
        # School admins never manage district staff or fellow admins; the district does.
        return False
    return _school_of(target) == user.school_id


def _self_or_admin(user, target):
    return target is not None and (target.id == user.id or _admin_of(user, target))


def _full_name(user, person):
    """A pupil's full name stays within their school (and the district office); teachers act under theirs."""
    if not person.has_role("student") or person.has_role("teacher", "school_admin", "reviewer", "district_admin"):
        return True
    same_school = person.school_id is not None and person.school_id == user.school_id
    return person.id == user.id or same_school or user.has_role("district_admin")


def _any_admin(user, target=None):
    return user.has_role("district_admin", "school_admin")


# --- resources ----------------------------------------------------------------------------
def _school_admin_of(user, resource) -> bool:
    return user.has_role("school_admin") and user.school_id is not None and user.school_id == resource.school_id


def _panel_member(user, resource) -> bool:
    """Assigned to score it (never for their own school's resource: the panel rule)."""
    return user.has_role("reviewer") and user.school_id != resource.school_id and (
        ReviewAssignment.query.filter_by(resource_id=resource.id, reviewer_id=user.id).first() is not None
    )


def _resource_view(user, resource) -> bool:
    """Published: everyone; in the school library: that school; otherwise the owner and those who review it."""
    if resource.status == "published" or user.has_role("district_admin") or resource.owner_id == user.id:
        return True
    if resource.status == "school_approved":
        return user.school_id == resource.school_id
    if resource.status == "draft":
        return False  # a draft is its owner's alone
    return _school_admin_of(user, resource) or (resource.status == "district_review" and _panel_member(user, resource))


def _owner_editing(user, resource) -> bool:
    return resource.owner_id == user.id and resource.status in ("draft", "returned")


def _uploader(user, target=None) -> bool:
    return user.has_role("teacher", "school_admin", "district_admin")


def _new_version(user, resource) -> bool:
    return resource.owner_id == user.id and resource.status in VISIBLE_STATUSES


def _school_review(user, resource) -> bool:
    return resource.status == "submitted" and (_school_admin_of(user, resource) or user.has_role("district_admin"))


def _recommend(user, resource) -> bool:
    return resource.status == "school_approved" and (_school_admin_of(user, resource) or user.has_role("district_admin"))


def _district_decide(user, resource) -> bool:
    return resource.status == "district_review" and user.has_role("district_admin")


def _score(user, resource) -> bool:
    return resource.status == "district_review" and _panel_member(user, resource)


def _withdraw(user, resource) -> bool:
    return resource.status in VISIBLE_STATUSES and (
        user.has_role("district_admin") or (resource.status == "school_approved" and _school_admin_of(user, resource))
    )


def _rate(user, resource) -> bool:
    return resource.status in VISIBLE_STATUSES and _resource_view(user, resource)


def _review_queue(user, target=None) -> bool:
    return user.has_role("school_admin", "reviewer", "district_admin")


def _review_view(user, resource) -> bool:
    """The review page, the workflow and processing failures: the owner, the owning school's admins, the
    district, and the panel that scored it. The review history holds the school's internal comments, so
    another school's staff never read it, published or not: what the district concluded of a published
    resource, its grade, is on the resource's own page for everyone."""
    if resource.owner_id == user.id or user.has_role("district_admin"):
        return True
    if resource.status == "draft":
        return False  # a draft is its owner's alone
    return _school_admin_of(user, resource) or _panel_member(user, resource)


def _school_library(user, school) -> bool:
    """A school's library is for its members and the district, as resource.view is for its resources."""
    return user.school_id == school.id or user.has_role("district_admin")


RULES = {
    "library.use": lambda user, target=None: True,  # every verified account
    "account.view": _self_or_admin,  # profile page, masked personal data
    "account.full_name": _full_name,  # a person's whole name where others see it, e.g. beside a rating
    "account.verify": _admin_of,  # approve or reject a pending registration
    "account.manage": _admin_of,  # disable, enable, reset password
    "account.transfer": _district_admin,  # move to another school
    "account.roles": _district_admin,  # grant or take roles
    "accounts.list": lambda user, target=None: _any_admin(user) if target is None else _admin_of(user, target),
    "accounts.export": _admin_of,  # personal data of a school, audited
    "roster.import": _admin_of,  # target: the school
    "schools.manage": _district_admin,  # create, import, rename schools and units
    "district.manage": _district_admin,  # district-wide settings: competitions, point awards, quotas
    "audit.view": _any_admin,  # school admins see their own school's entries
    "plugins.view": _district_admin,
    "monitoring.view": _district_admin,  # platform health, the library's use and renewal
    # resources (target: the Resource)
    "resource.upload": _uploader,  # target None: create drafts
    "resource.view": _resource_view,  # page, preview, download, cover
    "resource.edit": _owner_editing,  # metadata, file, cover, submit for review, delete the draft
    "resource.new_version": _new_version,
    "resource.review_school": _school_review,  # approve into the school library, return, reject
    "resource.recommend": _recommend,  # send from the school library to district review
    "resource.assign_panel": _district_decide,
    "resource.score": _score,
    "resource.decide": _district_decide,  # publish, return, reject after the panel scored
    "resource.withdraw": _withdraw,
    "resource.rate": _rate,
    "review.queue": _review_queue,
    "review.view": _review_view,  # target: the Resource
    "library.school": _school_library,  # target: the School
    "taxonomy.manage": _district_admin,  # subjects, grades, editions, forms, categories
    "resources.import": _admin_of,  # bulk catalogue import; target: the school, None for the district library
}


def can(user, action: str, target=None) -> bool:
    if action not in RULES:
        raise KeyError(f"unknown action {action!r}: add it to reslib.permissions.RULES")
    if isinstance(user, LocalProxy):  # current_user: look the account up once, not on each attribute a rule reads
        user = user._get_current_object()
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if not RULES[action](user, target):
        return False
    verdict = hooks().can_access(user=user, action=action, target=target)
    return verdict is not False


def require(user, action: str, target=None) -> None:
    """Abort with 403 unless ``user`` may do ``action`` on ``target``."""
    if not can(user, action, target):
        abort(403)


class _Operator:
    """Whoever runs ``reslib`` commands on the server: acts with the district admin's rights, audited as 'operator'."""

    id = None
    username = "operator"
    school_id = None
    is_authenticated = True
    is_active = True
    roles = frozenset({"district_admin"})

    def has_role(self, *roles) -> bool:
        return "district_admin" in roles


OPERATOR = _Operator()
