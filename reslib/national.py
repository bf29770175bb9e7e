"""The national smart-education platform's sections (版块) and columns (栏目): where resources are aimed and recommended.

The names are the platform's own, copied from the provincial notices (seeds 001, 003), because the
recommendation form (拟上线版块 / 拟上线栏目) must use them verbatim; they are data, not UI text, so
they are not translated.
"""

SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("德育", ("党史学习", "爱国主义", "宪法法治", "品德教育", "思政课程", "优秀传统文化", "生命与安全", "心理健康", "生态文明")),
    ("劳动教育", ("劳动光荣", "劳动导航", "劳动智慧")),
    ("课后服务", ("科普教育", "体育锻炼", "文化艺术", "经典阅读", "研学实践", "影视教育")),
    ("教师研修", ("师德师风", "通识研修", "学科研修", "作业命题", "幼教研修", "特教研修", "国培示范", "院士讲堂", "名师名校长")),
    ("家庭教育", ("家庭教育观念", "家庭教育方法", "家庭教育指导")),
    ("教改经验", ("党建德育", "落实“双减”", "学前教育", "义务教育", "普通高中", "特殊教育", "教学成果", "教育信息化", "综合改革")),
)

_COLUMNS = dict(SECTIONS)


def sections() -> tuple[str, ...]:
    """The section names in the platform's order."""
    return tuple(name for name, _columns in SECTIONS)


def columns(section: str) -> tuple[str, ...]:
    """The columns of ``section``; empty for a name that is not a section."""
    return _COLUMNS.get(section, ())


def is_valid(section: str, column: str) -> bool:
    """Whether ``column`` is one of ``section``'s columns (both as the platform spells them)."""
    return column in columns(section)
