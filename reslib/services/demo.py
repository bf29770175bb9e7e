"""A demo district, 东昌区教育局, for trying reslib out (``reslib demo``, run by ``make run``)."""
import itertools

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


def load_demo() -> tuple[list[dict], list[str]]:
    """Create the district; return its accounts (username, name, roles, school) and the plugins' things to try,
    for printing."""
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
    make("reviewer2", "陈志强", {"reviewer", "teacher"}, SCHOOLS[4][1], "T0590")  # a panel needs two,
    make("reviewer3", "赵丽华", {"reviewer", "teacher"}, SCHOOLS[2][1], "T0390")  # none from the resource's school
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
    load_resources()
    from reslib.plugins import hooks

    return demo_accounts(), [line for lines in hooks().demo_loaded() for line in lines or []]


# title, owner, kind, form, stage, subject, grade, category, how far it gets, file maker, what teachers search for
RESOURCES = [
    ("勾股定理的证明（微课）", "dc02.t1", "student", "微课", "初中", "数学", "八年级", "学科教学", "excellent", "video", "勾股定理"),
    ("春晓 朗读", "dc01.t1", "student", "素材", "小学", "语文", "一年级", "学科教学", "good", "audio", "古诗;朗读"),
    ("静夜思 古诗诵读", "dc03.t2", "student", "素材", "小学", "语文", "一年级", "学科教学", "excellent", "audio",
     "古诗;诵读;李白"),
    ("光的折射 实验", "dc04.t2", "student", "微课", "初中", "物理", "八年级", "学科教学", "excellent", "video",
     "实验;光学"),
    ("勾股定理 教学设计", "dc02.t2", "teacher", "教学设计", "初中", "数学", "八年级", "学科教学", "excellent", "pdf",
     "勾股定理;教学设计"),
    ("分数的初步认识 课件", "dc03.t1", "teacher", "课件", "小学", "数学", "三年级", "学科教学", "good", "pdf", "分数"),
    ("心理健康：认识情绪", "dc04.t1", "student", "微课", "初中", "心理健康", "七年级", "心理健康", "excellent", "video",
     "情绪;心理健康"),
    ("校本作业：一元一次方程", "dc02.t1", "teacher", "习题", "初中", "数学", "七年级", "学科教学", "school_approved", "pdf",
     "方程;作业"),
    ("光合作用 学习任务单", "dc04.t2", "student", "学习任务单", "初中", "生物", "七年级", "学科教学", "submitted", "pdf",
     "光合作用;实验"),
]
# For each grade a resource is published with: each panel member's share of every criterion's maximum,
# so any configured rubric gives that grade. A journey named here ends in the district library.
PANEL_SHARES = {"excellent": (0.95, 0.91), "good": (0.86, 0.80)}
# Students across the district who use the published resources: (username, stars, comment).
LEARNERS = [("dc01.s1", 5, "讲得清楚，例子好懂。"), ("dc03.s2", 4, "很有帮助，希望多出几个练习。"),
            ("dc05.s1", 5, ""), ("dc06.s3", 4, "")]


def load_resources() -> None:
    """A few resources, each taken as far as its row says through the real workflow (submitted, approved
    by its school, scored by a district panel and published), then used and rated by students."""
    import tempfile
    from pathlib import Path

    from reslib.models import Resource, Term
    from reslib.models.base import utcnow
    from reslib.services import library, processing, vocabularies

    vocabularies.install_defaults()
    term = {(t.vocabulary, t.name): t.id for t in db.session.scalars(select(Term))}
    files = library.store()
    journeys = []
    with tempfile.TemporaryDirectory() as work:
        for index, (title, owner, kind, form, stage, subject, grade, category, journey, maker, words) in enumerate(
                RESOURCES):
            owner = accounts.user_by_username(owner)
            path = Path(work) / f"{index}.{maker}"
            mime, extension = _make_file(maker, path, index)
            resource = Resource(
                owner_id=owner.id, school_id=owner.school_id, status="draft", title=title, kind=kind,
                description=f"{title}：东昌区{subject}学科组制作的示范资源。", form_id=term[("form", form)],
                stage_id=term[("stage", stage)], subject_id=term[("subject", subject)], grade_id=term[("grade", grade)],
                edition_id=term[("edition", "人教版")], category_id=term[("category", category)],
                copyright_holder=owner.school.name, presenters=owner.real_name,
                keywords=f"{words};{subject};{grade}", created_on=utcnow().date(), source="school", licence="all_rights",
                type_code={"video": "A01", "audio": "A02"}.get(maker, ""), file_sha256=files.put_file(path),
                file_name=f"{title}.{extension}", file_size=path.stat().st_size, file_kind=maker, file_mime=mime,
                inline_safe=True, processing="pending",
            )
            db.session.add(resource)
            db.session.flush()
            resource.lineage_id = resource.id
            journeys.append((resource, journey))
    db.session.commit()
    for resource, journey in journeys:
        if resource.file_kind == "audio":  # nothing in the file to draw a cover from: the uploader gives one
            library.set_cover(resource.owner, resource, _cover_jpeg())
        # Files the demo made itself, processed here rather than by the worker: review needs them done.
        processing.process_resource(resource.id)
        _review(resource, journey)
    for index, (resource, journey) in enumerate(journeys):
        if journey in PANEL_SHARES:  # published
            _use(resource, LEARNERS[:2 + index % (len(LEARNERS) - 1)])  # some resources more popular than others


def _review(resource, journey: str) -> None:
    from flask import current_app

    from reslib.services import review

    review.submit(resource.owner, resource)
    if journey == "submitted":
        return
    school_admin = accounts.user_by_username(f"{resource.school.code.lower()}.admin")
    if journey == "school_approved":
        review.school_decision(school_admin, resource, "approve", "内容规范，同意进入本校资源库。")
        return
    review.school_decision(school_admin, resource, "approve_and_recommend", "质量较好，推荐参加区级评审。")
    district_admin = accounts.user_by_username("admin")
    panel = review.eligible_reviewers(resource)[:current_app.config["REVIEW_PANEL_SIZE"]]
    review.assign_panel(district_admin, resource, [reviewer.id for reviewer in panel])
    rubric = current_app.config["REVIEW_RUBRIC"]
    for reviewer, share in zip(panel, itertools.cycle(PANEL_SHARES[journey])):  # whatever the panel's size
        review.score(reviewer, resource, {criterion: round(top * share) for criterion, top in rubric.items()},
                     "导向正确，设计合理。" if share > 0.9 else "可用，个别环节还可以更精炼。")
    review.decide(district_admin, resource, "publish", "评审通过，进入区级资源库。")


def _use(resource, learners) -> None:
    from reslib.services import usage

    for username, stars, comment in learners:
        learner = accounts.user_by_username(username)
        for kind in ("view", "download"):
            usage.record(learner, resource, kind)
        if resource.file_kind in ("video", "audio"):  # watched or listened to the end
            usage.record(learner, resource, "preview", 100)
        usage.rate(learner, resource, stars, comment)


def _cover_jpeg():
    import io

    from PIL import Image, ImageDraw

    cover = Image.new("RGB", (1280, 720), (178, 45, 45))
    ImageDraw.Draw(cover).ellipse((490, 210, 790, 510), outline="white", width=12)  # a record, for a recording
    jpeg = io.BytesIO()
    cover.save(jpeg, "JPEG", quality=85)
    jpeg.seek(0)
    return jpeg


def _make_file(kind: str, path, index: int) -> tuple[str, str]:
    """Generated content: a test pattern video, a tone, a drawn page, each told apart by ``index`` (else
    the duplicate check would rightly flag them). Returns (mime type, extension)."""
    import subprocess

    from PIL import Image, ImageDraw

    if kind in ("video", "audio"):
        from reslib.services.media import ffmpeg_binary

        source = (["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25:duration=3", "-f", "lavfi", "-i",
                   f"sine=frequency={440 + 20 * index}:duration=3", "-c:v", "libx264", "-b:v", "2500k", "-pix_fmt", "yuv420p",
                   "-c:a", "aac", "-movflags", "+faststart", "-f", "mp4"]
                  if kind == "video" else
                  ["-f", "lavfi", "-i", f"sine=frequency={523 + 20 * index}:duration=3:sample_rate=44100", "-ac", "2",
                   "-c:a", "libmp3lame", "-f", "mp3"])
        subprocess.run([ffmpeg_binary(), "-nostdin", "-y", "-loglevel", "error", *source, str(path)],
                       check=True, timeout=120)
        return ("video/mp4", "mp4") if kind == "video" else ("audio/mpeg", "mp3")
    page = Image.new("RGB", (1240, 1754), "white")
    draw = ImageDraw.Draw(page)
    hue = (40 + index * 30) % 200
    draw.rectangle((80, 80, 1160, 300), fill=(hue, 90, 160))
    draw.polygon([(300, 1400), (900, 1400), (300, 600)], outline=(20, 20, 20), width=8)  # a right triangle
    page.save(path, "PDF", resolution=150)
    return "application/pdf", "pdf"


# What a newcomer tries first on the demo district (``reslib demo`` prints these, then the plugins' own).
THINGS_TO_TRY = ["用 dc01.s1 登录，搜索“古诗”或“实验”，或在搜索框输入拼音 ggdl，打开一个视频播放并评价。",
                 "用 dc04.admin 登录，在“审核”中处理待审核的资源，在“账号审核”中通过注册申请。"]


def demo_accounts() -> list[dict]:
    users = db.session.scalars(select(User).order_by(User.id)).all()
    return [
        {"username": u.username, "name": u.real_name, "roles": "、".join(u.role_labels),
         "school": u.school.name if u.school else "（区教育局）", "status": u.status_label}
        for u in users
    ]
