"""Uploading and editing one's own resources: the upload page, my resources, the metadata form."""
from urllib.parse import unquote

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models.library import STATUSES
from reslib.permissions import can, require
from reslib.services import library, review
from reslib.services.storage import file_size
from reslib.views import page_number, show_error
from reslib.views.forms import ActionForm, StepForm
from reslib.views.review import changed_page, refused
from reslib.views.upload_forms import LinkForm, metadata_form_for

bp = Blueprint("upload", __name__)


@bp.before_request
@login_required
def _signed_in():
    """Every page here needs a signed-in account; each view then asks the policy."""


def streamed_file_name() -> str:
    """The browser sends the file as the raw body; its name comes percent-encoded in a header."""
    return unquote(request.headers.get("X-File-Name", "") or request.args.get("name", ""))


def allow_large_body() -> None:
    """Uploads stream to disk, so they may be far larger than an ordinary request."""
    request.max_content_length = max(current_app.config["UPLOAD_MAX_BYTES"].values())


@bp.route("/upload")
def page():
    require(current_user, "resource.upload")
    return _upload_page(LinkForm())


def _upload_page(link_form, status=200):
    caps = {kind: file_size(cap) for kind, cap in current_app.config["UPLOAD_MAX_BYTES"].items()}
    return render_template("upload/upload.html", link_form=link_form, caps=caps), status


@bp.route("/upload/files", methods=["POST"])
def upload_file():
    """One file per request, sent by upload.js with a progress bar; answers JSON."""
    allow_large_body()
    try:
        resource = library.create_from_upload(current_user, request.stream, streamed_file_name())
    except ReslibError as exc:
        return jsonify({"error": exc.to_dict()}), exc.status
    return jsonify({"id": resource.id, "title": resource.title,
                    "edit_url": url_for("upload.edit", resource_id=resource.id)}), 201


@bp.route("/upload/link", methods=["POST"])
def link():
    require(current_user, "resource.upload")
    form = LinkForm()
    if form.validate_on_submit():
        try:
            resource = library.create_link(current_user, form.link_url.data, form.title.data)
        except ReslibError as exc:
            show_error(form, exc)
        else:
            flash(_("已创建链接资源，请补全信息后提交审核"), "success")
            return redirect(url_for("upload.edit", resource_id=resource.id))
    return _upload_page(form, 422)


@bp.route("/my/resources")
def mine():
    require(current_user, "library.use")
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    page = db.paginate(library.my_resources(current_user, status), page=page_number(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("upload/mine.html", page=page, may_upload=can(current_user, "resource.upload"),
                           status=status, counts=library.my_status_counts(current_user), status_labels=STATUSES)


@bp.route("/resources/<int:resource_id>/edit", methods=["GET", "POST"])
def edit(resource_id):
    resource = library.get_resource(resource_id)
    if not can(current_user, "resource.edit", resource):
        return refused(resource)  # a save from a tab still showing the draft after it was submitted is told so
    form = metadata_form_for(resource)
    status = 200
    if form.validate_on_submit():
        try:
            library.update_metadata(current_user, resource, form.service_data())
        except library.MetadataInvalid as exc:
            form.add_errors(exc.errors)
            status = 422
        except library.StateChanged:  # submitted from another tab while this save was on its way
            return changed_page(resource)
        else:
            flash(_("已保存"), "success")
            return redirect(url_for("upload.edit", resource_id=resource.id))
    elif request.method == "POST":
        status = 422
    # The page's buttons (cover, submit, delete) carry the status it shows, as the metadata form does.
    step_form = StepForm(formdata=None, data={"shown_status": resource.status})
    return render_template("upload/edit.html", resource=resource, form=form, step_form=step_form,
                           returned=review.latest_return(resource), missing=library.missing_for_submission(resource),
                           can_delete=resource.status == "draft"), status


@bp.route("/resources/<int:resource_id>/edit/file", methods=["POST"])
def replace_file(resource_id):
    """A different file for a draft (upload.js, raw body)."""
    allow_large_body()
    resource = library.get_resource(resource_id)
    try:
        library.replace_file(current_user, resource, request.stream, streamed_file_name())
    except ReslibError as exc:
        return jsonify({"error": exc.to_dict()}), exc.status
    return jsonify({"id": resource.id, "edit_url": url_for("upload.edit", resource_id=resource.id)})


@bp.route("/resources/<int:resource_id>/edit/cover", methods=["POST"])
def cover(resource_id):
    resource = library.get_resource(resource_id)
    if not can(current_user, "resource.edit", resource):
        return refused(resource)
    form = StepForm()
    upload = request.files.get("cover")
    if not form.validate_on_submit() or upload is None or not upload.filename:
        flash(_("请选择一张 JPG 图片作为封面"), "error")
    else:
        try:
            library.set_cover(current_user, resource, upload.stream)
        except library.StateChanged:
            return changed_page(resource)
        except ReslibError as exc:
            flash(exc.message, "error")
        else:
            flash(_("封面已上传"), "success")
    return redirect(url_for("upload.edit", resource_id=resource.id))


@bp.route("/resources/<int:resource_id>/delete", methods=["POST"])
def delete(resource_id):
    resource = library.get_resource(resource_id)
    if not can(current_user, "resource.edit", resource):
        return refused(resource)
    if not StepForm().validate_on_submit():
        abort(400)
    try:
        library.delete_draft(current_user, resource)
    except library.StateChanged:
        return changed_page(resource)
    except ReslibError as exc:
        flash(exc.message, "error")
        return redirect(url_for("upload.edit", resource_id=resource.id))
    flash(_("草稿已删除"), "success")
    return redirect(url_for("upload.mine"))


@bp.route("/resources/<int:resource_id>/new-version", methods=["POST"])
def new_version(resource_id):
    resource = library.get_resource(resource_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    copy = library.new_version(current_user, resource)
    flash(_("已创建新版本草稿；在新版本通过审核之前，现有版本照常展示"), "success")
    return redirect(url_for("upload.edit", resource_id=copy.id))

