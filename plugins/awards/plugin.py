"""评比与证书: district competitions, from set-up through entries, blind panel judging and prize allocation to
certificates anyone can verify and the teacher's title-evaluation record.

Prizes are announced with ``award_granted`` / ``award_revoked`` (the points plugin credits them when enabled) and
listed by ``granted_awards``; resources a platform accepted arrive by ``recommendation_accepted`` and earn their
authors a certificate. Nothing here imports another plugin.
"""
from flask import render_template
from flask_babel import lazy_gettext as _l

from plugins.awards import certificates, judging, service
from plugins.awards.views import bp, public
from reslib import hookimpl


@hookimpl
def config_defaults():
    # The seeds' rule: 1st:2nd:3rd = 3:3:4, and at most 80% of entries win anything.
    return {"AWARDS_PRIZE_RATIO": "3:3:4", "AWARDS_MAX_RATE": 80,
            # Per address: enough for a school office checking a stack of certificates, too few to guess numbers.
            "AWARDS_VERIFY_RATE_LIMIT": "30 per minute",
            # The site's address as people reach it, e.g. https://res.example.edu.cn, for the certificates' QR
            # codes; None: the address of the request that prints them.
            "AWARDS_PUBLIC_URL": None}


@hookimpl
def register_blueprints(app):
    app.register_blueprint(bp)
    app.register_blueprint(public)


@hookimpl
def menu_links(user):
    if not user.is_authenticated:
        return []
    # A judge's tasks are on the dashboard and the competitions page: no query on every page for the menu.
    return [{"label": _l("区级评比"), "endpoint": "awards.index", "order": 40}]


@hookimpl
def dashboard_panels(user):
    if not user.is_authenticated:
        return []
    competitions = service.open_competitions()
    tasks = [task for task in judging.my_assignments(user) if task.submitted_at is None
             and task.entry.competition.status == "judging"]
    if not competitions and not tasks:
        return []
    return [render_template("awards/_panel.html", competitions=competitions, tasks=tasks)]


@hookimpl
def profile_panels(user, viewer):
    held = certificates.of_holder(user.id)
    if not held or viewer.id != user.id:
        return []
    return [render_template("awards/_record_panel.html", held=held)]


@hookimpl
def granted_awards():
    return certificates.granted()


@hookimpl
def demo_loaded():
    """The demo district's competition, open for entries until a month from now, with the reviewers as judges."""
    return [service.demo_competition()]


@hookimpl
def recommendation_accepted(selection):
    certificates.issue_for_selection(selection)


@hookimpl
def audit_actions():
    return {
        "awards.competition_created": _l("新建评比"), "awards.competition_status": _l("变更评比状态"),
        "awards.competition_settings": _l("修改评比设置"), "awards.entered": _l("报名参评"),
        "awards.withdrawn": _l("撤回参评作品"), "awards.selected": _l("学校推荐参评作品"),
        "awards.unselected": _l("取消学校推荐"), "awards.panel": _l("调整评审专家"), "awards.assigned": _l("分配评审"),
        "awards.score_corrected": _l("更正评分"), "awards.prize_adjusted": _l("调整奖项"),
        "awards.published": _l("发布评比结果"), "awards.certificate_revoked": _l("撤销证书"),
        "awards.exported": _l("导出评比名单"),
    }
