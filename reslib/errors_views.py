"""Error answers: Chinese pages in the UI, structured JSON under /api/."""
from flask import jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from reslib.errors import ReslibError
from reslib.extensions import db


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("请求有误"), _("提交的内容不完整或格式不对，请返回检查后重试。")),
        401: (_("需要登录"), _("请先登录。")),
        403: (_("没有权限"), _("你的账号没有权限访问这个页面或执行这个操作。")),
        404: (_("页面不存在"), _("你要找的页面不存在，可能已被删除或地址有误。")),
        405: (_("操作方式不对"), _("这个地址不支持这种操作。")),
        409: (_("操作冲突"), _("同一项操作刚刚被另一次提交完成（例如按钮按了两次），这次提交没有保存。请刷新页面查看结果。")),
        413: (_("文件太大"), _("上传的内容超过了允许的大小。")),
        429: (_("操作太频繁"), _("请求次数过多，请稍等片刻再试。")),
        500: (_("服务器出错了"), _("系统遇到了意外问题，已记录在案，请稍后再试。")),
        503: (_("服务暂不可用"), _("系统正在维护或繁忙，请稍后再试。")),
    }


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _answer(status: int, code: str, message: str | None = None, field: str | None = None, **extra):
    title, text = _messages().get(status, (_("出错了"), ""))
    if _wants_json():
        return jsonify(error={"code": code, "message": message or text, "field": field, **extra}), status
    return render_template("errors/error.html", status=status, title=title, message=message or text), status


def _is_duplicate(exc: IntegrityError) -> bool:
    """A unique constraint's refusal: PostgreSQL's SQLSTATE 23505, SQLite's message."""
    return getattr(exc.orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(exc.orig)


def init_app(app) -> None:
    @app.errorhandler(ReslibError)
    def _service_error(exc):
        return _answer(exc.status, **exc.to_dict())

    @app.errorhandler(CSRFError)
    def _csrf_error(exc):
        return _answer(400, "csrf_failed", _("页面已过期或来源不明，请刷新页面后重试。"))

    @app.errorhandler(HTTPException)
    def _http_error(exc):
        codes = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 413: "too_large", 429: "rate_limited"}
        status = exc.code or 500
        response = make_response(_answer(status, codes.get(status, "http_error")))
        # What the exception says besides its status stays with the answer: Allow on a 405 (RFC 9110 wants it),
        # Content-Range on a 416, Retry-After on a 429. The body, and so its type, is ours.
        response.headers.extend((name, value) for name, value in exc.get_headers() if name.lower() != "content-type")
        return response

    @app.errorhandler(IntegrityError)
    def _conflict(exc):
        if not _is_duplicate(exc):
            return _unexpected(exc)
        # Two requests raced to create the same thing (a double click, two tabs): the first won, and the
        # database's unique constraint stopped the second. Services check first, so only a race gets here.
        db.session.rollback()
        app.logger.warning("conflicting write refused: %s", exc.orig)
        return _answer(409, "conflict")

    @app.errorhandler(Exception)
    def _unexpected(exc):
        if isinstance(exc, HTTPException):
            return _http_error(exc)
        db.session.rollback()
        app.logger.exception("unhandled error")
        return _answer(500, "internal_error")

