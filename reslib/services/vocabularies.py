"""The district's vocabularies (学段, 学科, 年级, 教材版本, 资源形式, 所属分类): defaults, and upkeep by the district admin."""
from flask_babel import gettext as _
from sqlalchemy import func, select

from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.messages import N_, as_read
from reslib.models import Term
from reslib.models.base import get_by_id
from reslib.models.library import VOCABULARIES
from reslib.permissions import require
from reslib.services import audit

# What a new district starts with; the district admin edits, adds and retires entries in the UI. The names are
# stored in Chinese and are in the catalogue, so that a reader of another language sees them translated.
DEFAULTS = {
    "stage": [N_("学前"), N_("小学"), N_("初中"), N_("高中"), N_("特殊教育")],
    "subject": [N_("语文"), N_("数学"), N_("英语"), N_("道德与法治"), N_("科学"), N_("物理"), N_("化学"), N_("生物"),
                N_("历史"), N_("地理"), N_("音乐"), N_("美术"), N_("体育与健康"), N_("信息科技"), N_("劳动"),
                N_("心理健康"), N_("综合实践")],
    "grade": [N_("一年级"), N_("二年级"), N_("三年级"), N_("四年级"), N_("五年级"), N_("六年级"), N_("七年级"),
              N_("八年级"), N_("九年级"), N_("高一"), N_("高二"), N_("高三")],
    "edition": [N_("人教版"), N_("部编版"), N_("北师大版"), N_("苏教版"), N_("湘教版"), N_("外研版"), N_("沪教版"),
                N_("人教PEP版")],
    "form": [N_("微课"), N_("课件"), N_("教学设计"), N_("学习任务单"), N_("习题"), N_("试卷"), N_("数字图书"),
             N_("网络课程"), N_("视频公开课"), N_("专家报告"), N_("培训课"), N_("素材"), N_("资源共享课")],
    "category": {N_("科学文化"): {N_("航空知识"): [N_("航空发动机"), N_("飞行原理")], N_("天文地理"): []},
                 N_("德育"): {N_("爱国主义"): [], N_("心理健康"): []}, N_("学科教学"): {}},
}


def install_defaults() -> int:
    """Fill each vocabulary that is still empty; returns how many entries were added."""
    added = 0
    for vocabulary, entries in DEFAULTS.items():
        if db.session.scalar(select(func.count()).select_from(Term).where(Term.vocabulary == vocabulary)):
            continue
        added += _add_tree(vocabulary, entries, None)
    db.session.commit()
    return added


def _add_tree(vocabulary, entries, parent) -> int:
    added = 0
    children = entries.items() if isinstance(entries, dict) else ((name, ()) for name in entries)
    for position, (name, below) in enumerate(children):
        term = Term(vocabulary=vocabulary, name=name, parent=parent, position=position)
        db.session.add(term)
        added += 1 + _add_tree(vocabulary, below, term)
    return added


def terms(vocabulary: str, *, include_retired=False) -> list[Term]:
    stmt = select(Term).where(Term.vocabulary == vocabulary).order_by(Term.position, Term.id)
    if not include_retired:
        stmt = stmt.where(Term.active.is_(True))
    return list(db.session.scalars(stmt))


def term_label(term: Term | None) -> str:
    """An entry as the reader reads it; a category with its whole path (科学文化-航空知识)."""
    if term is None:
        return ""
    if term.vocabulary == "category":
        return "-".join(as_read(name) for name in term.path.split("-"))
    return as_read(term.name)


def choices(vocabulary: str) -> list[tuple[int, str]]:
    """(id, label) for a select box; categories show their whole path."""
    rows = terms(vocabulary)
    if vocabulary == "category":
        return sorted(((t.id, term_label(t)) for t in rows), key=lambda pair: pair[1])
    return [(t.id, term_label(t)) for t in rows]


def add_term(user, vocabulary: str, name: str, parent_id=None) -> Term:
    require(user, "taxonomy.manage")
    if vocabulary not in VOCABULARIES:
        raise ReslibError(_("没有这个词表"), code="not_found", status=404)
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise ReslibError(_("名称应为 1–64 个字"), field="name")
    parent = get_by_id(Term, parent_id) if parent_id else None
    if parent_id and (parent is None or parent.vocabulary != vocabulary or vocabulary != "category"):
        raise ReslibError(_("上级分类无效"), field="parent_id")
    exists = db.session.scalar(select(Term).where(Term.vocabulary == vocabulary, Term.name == name,
                                                  Term.parent_id == (parent.id if parent else None)))
    if exists is not None:
        raise ReslibError(_("“%(name)s”已存在", name=name), field="name", code="conflict", status=409)
    position = db.session.scalar(select(func.count()).select_from(Term).where(Term.vocabulary == vocabulary))
    term = Term(vocabulary=vocabulary, name=name, parent=parent, position=position)
    db.session.add(term)
    audit.record("taxonomy.added", actor=user, target=f"{vocabulary}:{name}")
    db.session.commit()
    return term


def rename_term(user, term: Term, name: str) -> None:
    require(user, "taxonomy.manage")
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise ReslibError(_("名称应为 1–64 个字"), field="name")
    audit.record("taxonomy.renamed", actor=user, target=f"{term.vocabulary}:{term.name}", detail=name)
    term.name = name
    db.session.commit()


def set_active(user, term: Term, active: bool) -> None:
    """Retired entries stay on the resources that use them but are no longer offered."""
    require(user, "taxonomy.manage")
    term.active = active
    audit.record("taxonomy.restored" if active else "taxonomy.retired", actor=user, target=f"{term.vocabulary}:{term.name}")
    db.session.commit()
