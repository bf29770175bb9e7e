"""The plugin API: every hook reslib calls, in one place. docs/hooks.md documents each one."""
from pluggy import HookspecMarker

hookspec = HookspecMarker("reslib")


@hookspec
def config_defaults():
    """Return a dict of default settings for this plugin.

    Applied at start-up with ``setdefault``, so the district's own configuration wins.
    """


@hookspec
def register_blueprints(app):
    """Register the plugin's blueprints (with their templates, static files and CLI commands) on ``app``."""


@hookspec
def menu_links(user):
    """Return navigation links for ``user`` (an account or an anonymous user).

    Each link is a dict: ``label`` (text), ``endpoint`` (a Flask endpoint name) and optionally
    ``order`` (smaller first, core links use 10–90) and ``group``: ``"admin"`` for an administration page,
    listed under the one 管理 menu instead of in the bar, which keeps the pages people use every day.
    Return an empty list to add nothing.
    """


@hookspec
def dashboard_panels(user):
    """Return HTML fragments (``markupsafe.Markup``) to show on ``user``'s dashboard."""


@hookspec
def profile_panels(user, viewer):
    """Return HTML fragments for the profile page of ``user`` as seen by ``viewer``."""


@hookspec
def account_changed(user, change, actor):
    """Called after a change to an account is committed.

    ``change`` is one of ``registered``, ``verified``, ``rejected``, ``disabled``, ``enabled``,
    ``transferred``, ``roles_changed``, ``password_reset``. ``actor`` is who did it (``None`` for
    the system, e.g. a roster match). Side effects only; the return value is ignored.
    """


@hookspec(firstresult=True)
def can_access(user, action, target):
    """Return ``False`` to refuse ``user`` the ``action`` on ``target``; ``None`` to have no opinion.

    Asked only after the core policy has allowed the action: a plugin can narrow access, never widen it.
    """


@hookspec
def register_jobs(queue):
    """Add background tasks to ``queue`` (a ``reslib.jobs.JobQueue``) at start-up.

    Use ``@queue.task("name")`` for work enqueued with ``queue.enqueue("name", ...)`` and
    ``@queue.periodic("name", crontab(...))`` for periodic work; both run in the worker inside the app context.
    """


@hookspec
def resource_changed(resource, change, actor):
    """Called after a change to a resource is committed.

    ``change`` is one of ``created``, ``edited``, ``processed``, ``submitted``, ``school_approved``,
    ``sent_to_district``, ``panel_assigned``, ``scored``, ``published``, ``returned``, ``rejected``,
    ``withdrawn``, ``superseded``, ``deleted``.
    ``actor`` is who did it (``None`` for the worker). Side effects only (index, points, sync).
    """


@hookspec
def review_checks(resource, viewer):
    """Return findings for reviewers to see before they decide on ``resource``.

    Each finding is a dict: ``check`` (an id such as ``video.resolution``), ``ok`` (bool) and
    ``message`` (Chinese, e.g. "分辨率 960×540 低于 1280×720"). Return an empty list to add nothing.
    ``viewer`` is the account reading them (the owner reads them too): a finding names nothing of
    another resource that ``viewer`` may not see.
    """


@hookspec
def resource_panels(resource, user):
    """Return HTML fragments (``markupsafe.Markup``) to show on ``resource``'s page to ``user``."""


@hookspec
def usage_recorded(event):
    """Called after a usage event (a ``UsageEvent``: view, preview, download or rate) is committed."""


@hookspec
def audit_actions():
    """Return a dict naming the audit actions this plugin records, e.g. ``{"points.awarded": "记分"}``.

    The audit log shows these names (lazily translated strings are welcome) instead of the codes.
    """


@hookspec
def award_granted(award):
    """Called after a prize of a competition is granted and committed.

    ``award`` is a dict of plain values, so that no plugin needs another's models: ``key`` (a string that names
    this prize for good, e.g. ``"awards:entry:12"``), ``title`` (what won, for people's histories), ``level``
    (``first``, ``second``, ``third`` or ``other``), ``people`` (the ids of the accounts it goes to) and ``at``
    (when it was granted, naive UTC). The return value is ignored.
    """


@hookspec
def award_revoked(award):
    """Called after a granted prize is taken back and committed; ``award`` as for ``award_granted``, with
    ``revoked_at`` (naive UTC). The return value is ignored."""


@hookspec
def recommendation_accepted(selection):
    """Called after a platform (provincial, national) accepted a resource recommended upward, once committed.

    ``selection`` is a dict of plain values: ``key`` (names this acceptance for good, e.g.
    ``"provincial:rec:7"``), ``title`` (the resource's), ``platform`` (its name as printed, e.g. ``省级平台``),
    ``people`` (the account ids of the resource's authors) and ``at`` (naive UTC). The awards plugin issues each
    author a certificate. Announcing the same key again changes nothing. The return value is ignored.
    """


@hookspec
def demo_loaded():
    """Called once, by ``reslib demo`` right after it loaded the demo district into an empty database (its
    schools, accounts and published resources, committed), so a plugin adds demo data of its own (the awards
    plugin: a competition open for entries) and a newcomer sees what it does. Never called on a district's
    real data. Return a list of things to try, in Chinese, each one line naming the demo account to sign in
    with; ``reslib demo`` prints them after the core's own. An empty list adds nothing."""


@hookspec
def granted_awards():
    """Return every prize granted so far, as dicts like ``award_granted``'s (a revoked one with ``revoked_at``),
    so that a plugin that was off when they were announced can catch up (``reslib points recompute``)."""
