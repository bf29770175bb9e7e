"""The libraries and a resource's own page: browsing, preview, download, cover, rating, playback progress."""
import io

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField

from reslib.errors import ReslibError
from reslib.models.library import LICENCES, SOURCES, TYPE_CODES
from reslib.permissions import can, require
from reslib.services import browse as browsing
from reslib.services import library, usage
from reslib.views import json_object, page_number, show_error, this_url
from reslib.views.forms import ActionForm, choices

bp = Blueprint("library", __name__)

# Served files may come from anyone: never let one run as a page of this site. Chrome refuses to show
# a PDF under a sandbox, so a PDF (sniffed, shown only by the browser's viewer) may only be framed by us.
SANDBOX = "sandbox"
PDF_POLICY = "frame-ancestors 'self'"
COVER_MAX_AGE = 86400  # cover and thumbnail URLs carry their checksum, so a changed cover gets a new URL


class RatingForm(FlaskForm):
    stars = RadioField(_l("评分"), choices=choices((str(n), _l("%(n)s 星", n=n)) for n in range(5, 0, -1)),
                       validate_choice=False)
    comment = TextAreaField(_l("评论（选填）"), render_kw={"rows": 3, "maxlength": usage.COMMENT_MAX})


@bp.before_request
@login_required
def _signed_in():
    """Every page here needs a signed-in account; each view then asks the policy."""


# --- the libraries ----------------------------------------------------------------------------

@bp.route("/library")
def browse():
    return _library_page(None)


@bp.route("/library/schools/<int:school_id>")
def school(school_id):
    return _library_page(browsing.school_for_library(current_user, school_id))


def _library_page(school):
    sort = request.args.get("sort") if request.args.get("sort") in browsing.SORTS else "newest"
    page = browsing.browse(current_user, school_id=school.id if school else None, filters=request.args,
                           sort=sort, page=page_number())
    sort_urls = {key: this_url(sort=key, page=None) for key in browsing.SORTS}
    return render_template("library/browse.html", page=page, school=school, sort=sort, sort_urls=sort_urls,
                           filters=browsing.clean_filters(request.args), facets=browsing.facets())


# --- one resource -----------------------------------------------------------------------------

@bp.route("/resources/<int:resource_id>")
def resource(resource_id):
    resource = library.get_resource(resource_id, details=True)
    if resource.status == "superseded":
        newest = browsing.latest_version(current_user, resource)
        if newest is not None:
            return redirect(url_for("library.resource", resource_id=newest.id))
    require(current_user, "resource.view", resource)
    usage.record(current_user, resource, "view")
    own = usage.own_rating(current_user, resource)
    form = RatingForm(formdata=None, data={"stars": str(own.stars), "comment": own.comment} if own else None)
    return _resource_page(resource, form)


def _resource_page(resource, rating_form, status=200):
    average, rated, distribution = usage.rating_summary(resource)
    return render_template(
        "library/resource.html", resource=resource, rating_form=rating_form, action_form=ActionForm(),
        counts=usage.counts(resource), average=average, rated=rated, distribution=distribution,
        comments=usage.comments(resource), catalogue=browsing.catalogue_outline(resource.catalogue_xml),
        preview=preview_kind(resource), may_review=can(current_user, "review.view", resource),
        may_edit=can(current_user, "resource.edit", resource),
        may_new_version=can(current_user, "resource.new_version", resource),
        may_rate=can(current_user, "resource.rate", resource),
        type_codes=TYPE_CODES, sources=SOURCES, licences=LICENCES,
    ), status


def preview_kind(resource) -> str | None:
    """How the page shows the resource: video, audio, pdf or image; None when it cannot be shown inline."""
    if resource.link_url or not resource.file_sha256:
        return None
    if resource.rendition_sha256:
        return "audio" if (resource.rendition_mime or "").startswith("audio/") else "video"
    if resource.inline_safe and resource.file_kind in ("video", "audio", "pdf", "image"):
        return resource.file_kind
    return None


@bp.route("/resources/<int:resource_id>/rating", methods=["POST"])
def rate(resource_id):
    resource = library.get_resource(resource_id)
    require(current_user, "resource.rate", resource)
    form = RatingForm()
    if form.validate_on_submit():
        try:
            usage.rate(current_user, resource, form.stars.data, form.comment.data)
        except ReslibError as exc:
            show_error(form, exc)
        else:
            flash(_("感谢评分"), "success")
            return redirect(url_for("library.resource", resource_id=resource.id, _anchor="ratings"))
    return _resource_page(resource, form, 422)


@bp.route("/resources/<int:resource_id>/progress", methods=["POST"])
def progress(resource_id):
    """How far a video or audio has been played, sent by player.js (CSRF token in the X-CSRFToken header)."""
    resource = library.get_resource(resource_id)
    require(current_user, "resource.view", resource)  # before reading the body: refused users learn nothing
    percent = json_object().get("percent")
    if isinstance(percent, bool) or not isinstance(percent, int | float) or not 0 <= percent <= 100:
        raise ReslibError(_("播放进度应为 0 到 100 之间的数"), field="percent")
    event = usage.record(current_user, resource, "preview", int(percent))
    return {"recorded": event is not None}


# --- files ------------------------------------------------------------------------------------

def _stored_file(user, resource) -> str:
    require(user, "resource.view", resource)
    if not resource.file_sha256:  # a link resource: its page shows the link
        raise ReslibError(_("这个资源没有文件"), code="not_found", status=404)
    return resource.file_sha256


@bp.route("/resources/<int:resource_id>/preview")
def preview(resource_id):
    resource = library.get_resource(resource_id)
    sha = _stored_file(current_user, resource)
    if resource.rendition_sha256:
        return send_blob(resource.rendition_sha256, resource.rendition_mime, None, policy=SANDBOX)
    if not resource.inline_safe:
        raise ReslibError(_("这个文件不能在浏览器中直接打开，请下载后查看"), code="not_previewable", status=403)
    policy = PDF_POLICY if resource.file_mime == "application/pdf" else SANDBOX
    return send_blob(sha, resource.file_mime, resource.file_name, policy=policy)


@bp.route("/resources/<int:resource_id>/download")
def download(resource_id):
    return download_response(current_user, library.get_resource(resource_id))


def download_response(user, resource):
    """The original file as an attachment; one download is counted per fetch, not per Range chunk."""
    sha = _stored_file(user, resource)
    first_chunk = request.range is None or request.range.ranges[0][0] == 0
    if request.method == "GET" and first_chunk:
        usage.record(user, resource, "download")
    return send_blob(sha, resource.file_mime, resource.file_name, policy=SANDBOX, attachment=True)


@bp.route("/resources/<int:resource_id>/cover")
def cover(resource_id):
    return _image(library.get_resource(resource_id), "cover_sha256")


@bp.route("/resources/<int:resource_id>/thumb")
def thumb(resource_id):
    return _image(library.get_resource(resource_id), "thumb_sha256")


def _image(resource, column: str):
    require(current_user, "resource.view", resource)
    sha = getattr(resource, column)
    if not sha:
        raise ReslibError(_("这个资源还没有封面"), code="not_found", status=404)
    response = send_blob(sha, "image/jpeg", None, policy=SANDBOX)
    response.cache_control.no_cache = None
    response.cache_control.max_age = COVER_MAX_AGE
    return response


def send_blob(sha: str, mimetype: str, name: str | None, *, policy: str, attachment: bool = False):
    """A stored file with Range support, its display name (RFC 5987) and the headers that keep it inert.
    With X_ACCEL_REDIRECT set, nginx sends the bytes (and answers Range) from its internal location."""
    prefix = current_app.config.get("X_ACCEL_REDIRECT")
    if prefix:
        # Headers only; the empty body is replaced by the file nginx finds at X-Accel-Redirect.
        response = _send(io.BytesIO(), mimetype, name, attachment=attachment, conditional=False, etag=False)
        response.headers["X-Accel-Redirect"] = f"{prefix}{sha[:2]}/{sha[2:4]}/{sha}"
    else:
        response = _send(library.store().path(sha), mimetype, name, attachment=attachment, conditional=True)
    response.headers["Content-Security-Policy"] = policy
    response.cache_control.private = True  # behind a login: shared caches must not keep it
    response.cache_control.no_cache = True  # revalidate (cheaply, by ETag) so a withdrawn file stops being served
    return response


def send_export(data: bytes, mimetype: str, name: str):
    """A file made for this request (an export of personal data) as an attachment that no cache keeps."""
    response = _send(io.BytesIO(data), mimetype, name, attachment=True, conditional=False)
    response.headers["Cache-Control"] = "no-store"
    return response


def _send(file, mimetype: str, name: str | None, *, attachment: bool, **options):
    """Every file the app sends: its name cleaned for display and given as RFC 5987 asks (a name that is not
    ASCII goes in ``filename*``; raw, a WSGI server refuses the header), and never sniffed into a page."""
    response = send_file(file, mimetype=mimetype, as_attachment=attachment,
                         download_name=library.display_name(name) if name else None, **options)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
