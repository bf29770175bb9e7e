"""A demo district, 东昌区教育局, for trying reslib out (``reslib demo``, run by ``make run``)."""
from sqlalchemy import func, select

from reslib.extensions import db
from reslib.models import RosterEntry, School, Unit, User
from reslib.services import accounts

DEMO_PASSWORD = "Dongchang#2026"

SCHOOLS = [  # code, name, unit
    ("DC01", "东昌区第一实验小学", "东城片区"),
    ("DC02", "东昌区育才中学", "东城片区"),
    ("DC03", "东昌区光明小学", "西城片区"),
    ("DC04", "东昌区第二中学", "西城片区"),
    ("DC05", "东昌区江南九年一贯制学校", "江南片区"),
    ("DC06", "东昌区民族中学", "江南片区"),
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林罗高"
GIVEN = ["子涵", "浩然", "欣怡", "宇轩", "思彤", "俊杰", "雨桐", "博文", "佳怡", "梓萱", "明轩", "诗琪"]
# Pending registrations, so the verification queue has something in it; minority names with ·.
PENDING = [("阿依古丽·买买提", "student"), ("扎西·多吉", "student"), ("欧阳晓晨", "teacher")]


def _name(n: int) -> str:
    return SURNAMES[n % len(SURNAMES)] + GIVEN[(n * 7) % len(GIVEN)]


def is_empty() -> bool:
    return db.session.scalar(select(func.count(User.id))) == 0


def load_demo() -> list[dict]:
    """Create the district and return its accounts (username, name, roles, school) for printing."""
    units = {}
    for code, name, unit_name in SCHOOLS:
        unit = units.get(unit_name) or Unit(name=unit_name)
        units[unit_name] = unit
        db.session.add(School(code=code, name=name, unit=unit))
    db.session.commit()

    def make(username, real_name, roles, school=None, identifier=None):
        accounts.create_user(username=username, password=DEMO_PASSWORD, real_name=real_name, roles=roles,
                             school_name=school, identifier=identifier)

    make("admin", "王建国", {"district_admin"})
    make("reviewer1", "李秀英", {"reviewer", "teacher"}, SCHOOLS[1][1], "T0901")
    n = 0
    for index, (code, school, _unit) in enumerate(SCHOOLS, start=1):
        prefix = code.lower()
        make(f"{prefix}.admin", _name(n := n + 1), {"school_admin", "teacher"}, school, f"T{index:02d}00")
        for t in (1, 2):
            make(f"{prefix}.t{t}", _name(n := n + 1), {"teacher"}, school, f"T{index:02d}0{t}")
        for s in (1, 2, 3):
            make(f"{prefix}.s{s}", _name(n := n + 1), {"student"}, school, f"S{index:02d}00{s}")
        real_name, role = PENDING[index % len(PENDING)]
        accounts.register(username=f"{prefix}.new", password=DEMO_PASSWORD, real_name=real_name, role=role,
                          school_id=db.session.scalar(select(School.id).where(School.code == code)),
                          identifier=f"{'S' if role == 'student' else 'T'}{index:02d}099")
    # The first school's roster lists one more pupil: registering as 赵一鸣 / S010100 is verified at once.
    first = db.session.scalar(select(School).where(School.code == "DC01"))
    db.session.add(RosterEntry(school_id=first.id, identifier="S010100", real_name="赵一鸣", role="student"))
    db.session.commit()
    return demo_accounts()


def demo_accounts() -> list[dict]:
    users = db.session.scalars(select(User).order_by(User.id)).all()
    return [
        {"username": u.username, "name": u.real_name, "roles": "、".join(u.role_labels),
         "school": u.school.name if u.school else "（区教育局）", "status": u.status_label}
        for u in users
    ]
