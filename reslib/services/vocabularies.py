"""The district's vocabularies (学段, 学科, 年级, 教材版本, 资源形式, 所属分类): defaults, and upkeep by the district admin."""
from flask_babel import gettext as _
from sqlalchemy import func, select

from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import Term
from reslib.models.base import get_by_id
from reslib.models.library import VOCABULARIES
from reslib.permissions import require
from reslib.services import audit

# What a new district starts with; the district admin edits, adds and retires entries in the UI.
DEFAULTS = {
    "stage": ["学前", "小学", "初中", "高中", "特殊教育"],
    "subject": ["语文", "数学", "英语", "道德与法治", "科学", "物理", "化学", "生物", "历史", "地理",
                "音乐", "美术", "体育与健康", "信息科技", "劳动", "心理健康", "综合实践"],
    "grade": ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "七年级", "八年级", "九年级",
              "高一", "高二", "高三"],
    "edition": ["人教版", "部编版", "北师大版", "苏教版", "湘教版", "外研版", "沪教版", "人教PEP版"],
    "form": ["微课", "课件", "教学设计", "学习任务单", "习题", "试卷", "数字图书", "网络课程", "视频公开课",
             "专家报告", "培训课", "素材", "资源共享课"],
    "category": {"科学文化": {"航空知识": ["航空发动机", "飞行原理"], "天文地理": []},
                 "德育": {"爱国主义": [], "心理健康": []}, "学科教学": {}},
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


def choices(vocabulary: str) -> list[tuple[int, str]]:
    """(id, label) for a select box; categories show their whole path."""
    rows = terms(vocabulary)
    if vocabulary == "category":
        return sorted(((t.id, t.path) for t in rows), key=lambda pair: pair[1])
    return [(t.id, t.name) for t in rows]


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
