"""Resources, the district's vocabularies, review decisions and scores, usage events and ratings."""
import json
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reslib.extensions import db
from reslib.messages import translated
from reslib.models.accounts import School, User
from reslib.models.base import append_only, utcnow

# 资源类别 (seed 004 §二.1)
KINDS = {
    "student": _l("学生学习资源"),
    "teacher": _l("教师教学资源"),
    "research": _l("教师专业发展及教研资源"),
}
# 来源 (seed 004 §二.2)
SOURCES = {
    "national": _l("国家平台"),
    "provincial": _l("省级平台"),
    "city": _l("市级制作"),
    "district": _l("区级制作"),
    "school": _l("学校自主版权"),
    "purchased": _l("购买"),
    "codeveloped": _l("合作开发"),
    "open": _l("开放资源"),
}
LICENCES = {
    "all_rights": _l("版权所有，仅限本区使用"),
    "cc_by": "CC BY 4.0",
    "cc_by_nc": "CC BY-NC 4.0",
    "cc_by_nc_sa": "CC BY-NC-SA 4.0",
    "public_domain": _l("公有领域"),
}
# 资源类型代码 of the national metadata standard
TYPE_CODES = {"A01": _l("视频"), "A02": _l("音频"), "A03": _l("网络课程")}

# The district's own vocabularies, maintained in the UI; "category" is a tree (所属分类 path).
VOCABULARIES = {
    "stage": _l("学段"),
    "subject": _l("学科"),
    "grade": _l("年级"),
    "edition": _l("教材版本"),
    "form": _l("资源形式"),
    "category": _l("所属分类"),
}

# Workflow: draft → submitted → school_approved (school library) → district_review → published
# (district library); returned for revision or rejected along the way; published ones may be withdrawn.
STATUSES = {
    "draft": _l("草稿"),
    "submitted": _l("待学校审核"),
    "school_approved": _l("已入校本库"),
    "district_review": _l("区级评审中"),
    "published": _l("已入区级库"),
    "returned": _l("退回修改"),
    "rejected": _l("未通过"),
    "withdrawn": _l("已撤下"),
    "superseded": _l("已被新版本取代"),
}
VISIBLE_STATUSES = ("school_approved", "published")  # in a library; the rest only to owner and reviewers
# How each step of the workflow (a ReviewDecision's action) is named in the history and the audit log.
STEP_LABELS = {
    "submit": _l("提交审核"), "approve": _l("学校审核通过"), "approve_and_recommend": _l("学校通过并推荐到区级"),
    "recommend": _l("推荐到区级评审"), "assign_panel": _l("指派评审专家"), "publish": _l("区级评审通过，入库"),
    "return": _l("退回修改"), "reject": _l("不通过"), "withdraw": _l("撤下"), "supersede": _l("被新版本取代"),
    "import": _l("批量导入入库"),
}

PROCESSING = {
    "none": _l("无需处理"),
    "pending": _l("排队等待处理"),
    "running": _l("处理中"),
    "done": _l("处理完成"),
    "failed": _l("处理失败"),
}

GRADES = {"excellent": _l("优"), "good": _l("良"), "pass": _l("合格"), "fail": _l("不合格")}


class Term(db.Model):
    """One entry of a vocabulary: a subject, a grade, an edition, a form, or a node of the category tree."""

    __table_args__ = (UniqueConstraint("vocabulary", "parent_id", "name", name="uq_term_vocabulary_parent_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vocabulary: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(64))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("term.id"))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    parent: Mapped["Term | None"] = relationship(remote_side="Term.id")

    @property
    def path(self) -> str:
        """The category path as the metadata standard writes it: 科学文化-航空知识-航空发动机."""
        return f"{self.parent.path}-{self.name}" if self.parent else self.name


class Resource(db.Model):
    """A resource as one version: a new version of a published resource is a new row that supersedes it."""

    __table_args__ = (Index("ix_resource_status_published_at", "status", "published_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lineage_id: Mapped[int | None] = mapped_column(index=True)  # the first version's id; counts add up over it
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("resource.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)

    # what it is
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str | None] = mapped_column(String(16))
    form_id: Mapped[int | None] = mapped_column(ForeignKey("term.id"))
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("term.id"))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("term.id"))
    grade_id: Mapped[int | None] = mapped_column(ForeignKey("term.id"))
    edition_id: Mapped[int | None] = mapped_column(ForeignKey("term.id"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("term.id"))
    chapter: Mapped[str] = mapped_column(String(200), default="")
    section: Mapped[str] = mapped_column(String(32), default="")  # national platform 版块
    column: Mapped[str] = mapped_column(String(32), default="")  # national platform 栏目

    # the national metadata standard
    created_on: Mapped[date | None]  # 创建时间
    copyright_holder: Mapped[str] = mapped_column(String(200), default="")  # 版权方
    presenters: Mapped[str] = mapped_column(String(500), default="")  # 主讲人, ";"-separated
    keywords: Mapped[str] = mapped_column(String(500), default="")  # 关键词, ";"-separated
    type_code: Mapped[str] = mapped_column(String(8), default="")  # 资源类型代码
    catalogue_xml: Mapped[str] = mapped_column(Text, default="")  # 资源目录
    source: Mapped[str | None] = mapped_column(String(16))
    licence: Mapped[str | None] = mapped_column(String(16))

    # the content: a stored file or a link
    link_url: Mapped[str | None] = mapped_column(String(1000))
    file_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    file_name: Mapped[str | None] = mapped_column(String(255))  # the uploader's name, for display and download only
    file_size: Mapped[int | None]
    file_kind: Mapped[str | None] = mapped_column(String(16))  # video, audio, pdf, document, image, archive
    file_mime: Mapped[str | None] = mapped_column(String(100))
    inline_safe: Mapped[bool] = mapped_column(default=False)  # may the browser show it in the page
    cover_sha256: Mapped[str | None] = mapped_column(String(64))
    cover_from_uploader: Mapped[bool] = mapped_column(default=False)
    thumb_sha256: Mapped[str | None] = mapped_column(String(64))
    rendition_sha256: Mapped[str | None] = mapped_column(String(64))
    rendition_mime: Mapped[str | None] = mapped_column(String(32))

    # background processing and automatic checks
    processing: Mapped[str] = mapped_column(String(16), default="none", index=True)
    processing_step: Mapped[str] = mapped_column(String(64), default="")
    processing_error: Mapped[str | None] = mapped_column(String(500))  # the reason's message, as in the catalogue
    processing_error_values: Mapped[str | None] = mapped_column(Text)  # its values, JSON (see processing_failure)
    probe_json: Mapped[str | None] = mapped_column(Text)
    checks_json: Mapped[str | None] = mapped_column(Text)

    # review outcome
    score: Mapped[float | None]
    grade: Mapped[str | None] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(String(500))  # why returned, rejected or withdrawn

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]  # entered a library (school or district)
    review_due: Mapped[date | None]

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    school: Mapped[School | None] = relationship()
    form: Mapped[Term | None] = relationship(foreign_keys=[form_id])
    stage: Mapped[Term | None] = relationship(foreign_keys=[stage_id])
    subject: Mapped[Term | None] = relationship(foreign_keys=[subject_id])
    grade_term: Mapped[Term | None] = relationship(foreign_keys=[grade_id])
    edition: Mapped[Term | None] = relationship(foreign_keys=[edition_id])
    category: Mapped[Term | None] = relationship(foreign_keys=[category_id])

    @property
    def status_label(self) -> str:
        return str(STATUSES[self.status])

    @property
    def kind_label(self) -> str:
        return str(KINDS[self.kind]) if self.kind else ""

    @property
    def grade_label(self) -> str:
        return str(GRADES[self.grade]) if self.grade else ""

    @property
    def processing_label(self) -> str:
        return str(PROCESSING[self.processing])

    @property
    def processing_failure(self) -> str | None:
        """Why processing failed, in the reader's language. (A reason stored before its values were kept apart
        is its Chinese text: shown as it is.)"""
        if not self.processing_error:
            return None
        return translated(self.processing_error, json.loads(self.processing_error_values or "{}"))

    @property
    def in_district_library(self) -> bool:
        return self.status == "published"

    @property
    def probe(self) -> dict:
        return json.loads(self.probe_json) if self.probe_json else {}

    @property
    def checks(self) -> list[dict]:
        return json.loads(self.checks_json) if self.checks_json else []

    def split(self, field: str) -> list[str]:
        """A ";"-separated metadata field (presenters, keywords) as a list."""
        return [part.strip() for part in (getattr(self, field) or "").split(";") if part.strip()]


@append_only
class ReviewDecision(db.Model):
    """Every step of the workflow, with who, when and why; never edited."""

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(24))
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    field_comments_json: Mapped[str | None] = mapped_column(Text)  # {field: comment} when returned

    actor: Mapped[User | None] = relationship()

    @property
    def field_comments(self) -> dict:
        return json.loads(self.field_comments_json) if self.field_comments_json else {}


class ReviewAssignment(db.Model):
    """A district panel member asked to score a resource; the score is kept on the same row."""

    __table_args__ = (UniqueConstraint("resource_id", "reviewer_id", name="uq_review_assignment_resource_reviewer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    due: Mapped[date | None]
    scores_json: Mapped[str | None] = mapped_column(Text)  # {criterion: points}
    total: Mapped[float | None]
    comment: Mapped[str] = mapped_column(Text, default="")
    scored_at: Mapped[datetime | None]

    resource: Mapped[Resource] = relationship()
    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id])

    @property
    def scores(self) -> dict:
        return json.loads(self.scores_json) if self.scores_json else {}


# Usage event kinds; "preview" carries how far (per cent) a video or audio was played.
USAGE_KINDS = ("view", "preview", "download", "rate")


@append_only
class UsageEvent(db.Model):
    __table_args__ = (Index("ix_usage_event_dedup", "resource_id", "user_id", "kind", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"))
    lineage_id: Mapped[int] = mapped_column(index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"), index=True)  # the user's, at the time
    kind: Mapped[str] = mapped_column(String(16))
    progress: Mapped[int | None]  # preview: per cent reached
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Rating(db.Model):
    """One rating per user per resource lineage, editable; its history is in the usage events."""

    __table_args__ = (UniqueConstraint("lineage_id", "user_id", name="uq_rating_lineage_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lineage_id: Mapped[int] = mapped_column(index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    stars: Mapped[int]
    comment: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()
