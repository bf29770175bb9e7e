"""A generated catalogue of realistic Chinese resource records for the search bench, and a fixed
query set drawn from the same vocabularies.

Both come from seeded random generators, so every run (and every process of a run) gets the same
records and the same queries. Records are dicts in the shape ``WhooshIndex.add_or_update`` takes.
"""
import os
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import NamedTuple

from bench.common import BenchError
from reslib.models.library import GRADES, SOURCES
from reslib.search import segment
from reslib.services.vocabularies import DEFAULTS

DEFAULT_RECORDS = 100_000
SEED = 4  # the issue this bench belongs to
SCHOOLS = 60  # school libraries besides the district's
SCHOOL_ONLY_SHARE = 0.2  # of the records, visible to their own school only

STAGE_GRADES = {
    "小学": ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级"],
    "初中": ["七年级", "八年级", "九年级"],
    "高中": ["高一", "高二", "高三"],
}
# subject → (stages teaching it, topics, abilities its resources claim to build)
SUBJECTS = {
    "语文": (("小学", "初中", "高中"),
             ["静夜思", "春晓", "草船借箭", "桃花源记", "背影", "荷塘月色", "岳阳楼记", "出师表", "孔乙己",
              "藤野先生", "记叙文写作", "议论文写作", "古诗词鉴赏", "文言文阅读", "拼音教学", "识字写字",
              "整本书阅读", "口语交际", "小蝌蚪找妈妈", "落花生"],
             ["阅读理解能力", "写作能力", "语言表达能力", "文学鉴赏能力", "朗读能力"]),
    "数学": (("小学", "初中", "高中"),
             ["勾股定理的证明", "一元二次方程", "二次函数的图像", "分数的初步认识", "三角形的面积", "圆的周长",
              "平行四边形", "概率初步", "数列求和", "立体几何", "导数的应用", "统计与概率", "有理数的加法",
              "全等三角形", "相似三角形", "不等式组", "百分数的应用", "鸡兔同笼"],
             ["运算能力", "推理能力", "空间观念", "数形结合思想", "数学建模能力"]),
    "英语": (("小学", "初中", "高中"),
             ["Unit 1 Hello", "Unit 3 My School", "Unit 5 Do you have a soccer ball", "现在进行时", "一般过去时",
              "定语从句", "英语阅读理解", "英语书面表达", "自然拼读", "英语听说训练", "字母歌", "情态动词",
              "被动语态"],
             ["听说能力", "阅读能力", "词汇积累", "语法运用能力", "跨文化交际能力"]),
    "道德与法治": (("小学", "初中"),
                   ["宪法伴我成长", "遵守交通规则", "网络安全教育", "爱国主义教育", "诚信做人", "珍爱生命",
                    "我们的国家机构", "中华优秀传统文化", "垃圾分类"],
                   ["法治意识", "道德修养", "责任意识", "健全人格"]),
    "科学": (("小学",),
             ["植物的生长", "水的三态变化", "简单电路", "太阳系", "动物的生命周期", "声音的传播", "磁铁的性质",
              "天气与气候", "岩石和矿物"],
             ["科学探究能力", "观察能力", "动手能力", "科学思维"]),
    "物理": (("初中", "高中"),
             ["牛顿第一定律", "浮力", "欧姆定律", "电磁感应", "光的折射", "机械能守恒", "压强", "凸透镜成像",
              "比热容", "动量守恒"],
             ["实验探究能力", "科学思维", "物理观念", "科学态度"]),
    "化学": (("初中", "高中"),
             ["化学方程式", "酸碱中和反应", "氧气的制取", "元素周期表", "金属的化学性质", "有机化合物",
              "化学反应速率", "溶液的配制", "原子结构"],
             ["实验操作能力", "宏观辨识与微观探析", "证据推理能力", "变化观念"]),
    "生物": (("初中", "高中"),
             ["细胞的结构", "光合作用", "遗传与变异", "生态系统", "人体的消化系统", "DNA的复制", "植物的蒸腾作用",
              "生物的进化", "免疫调节"],
             ["生命观念", "科学探究能力", "社会责任", "理性思维"]),
    "历史": (("初中", "高中"),
             ["辛亥革命", "鸦片战争", "秦统一中国", "丝绸之路", "五四运动", "改革开放", "工业革命", "文艺复兴",
              "抗日战争", "新中国的成立"],
             ["时空观念", "史料实证能力", "历史解释能力", "家国情怀"]),
    "地理": (("初中", "高中"),
             ["地球的自转", "中国的气候", "世界的人口", "板块构造学说", "长江流域", "等高线地形图", "季风气候",
              "城市化", "农业区位因素"],
             ["区域认知", "综合思维", "地理实践力", "人地协调观"]),
    "音乐": (("小学", "初中", "高中"),
             ["茉莉花", "歌唱祖国", "音乐欣赏", "合唱训练", "民族乐器", "节奏练习", "五线谱入门", "京剧欣赏"],
             ["审美感知", "艺术表现", "文化理解"]),
    "美术": (("小学", "初中", "高中"),
             ["中国画基础", "素描静物", "色彩的冷暖", "剪纸艺术", "手工制作", "书法入门", "版画创作", "透视原理"],
             ["审美感知", "创意实践", "造型表现能力"]),
    "体育与健康": (("小学", "初中", "高中"),
                   ["立定跳远", "篮球运球", "足球传接球", "广播体操", "跳绳", "50米快速跑", "排球垫球",
                    "武术基本功", "健康饮食"],
                   ["运动能力", "健康行为", "体育品德"]),
    "信息科技": (("小学", "初中", "高中"),
                 ["Python编程入门", "Scratch创意编程", "算法与程序设计", "网络与信息安全", "人工智能初步",
                  "数据处理与可视化", "物联网", "文字处理", "演示文稿制作"],
                 ["计算思维", "数字化学习与创新", "信息意识", "信息社会责任"]),
    "劳动": (("小学", "初中"),
             ["整理房间", "烹饪与营养", "种植与养护", "垃圾分类与回收", "传统工艺", "校园劳动", "木工制作"],
             ["劳动能力", "劳动习惯", "劳动精神"]),
    "心理健康": (("小学", "初中", "高中"),
                 ["情绪管理", "学会沟通", "考前减压", "认识自我", "人际交往", "时间管理", "挫折教育"],
                 ["自我认识能力", "情绪调节能力", "抗挫折能力"]),
    "综合实践": (("小学", "初中", "高中"),
                 ["研学旅行", "社区服务", "职业体验", "项目式学习", "科技创新小发明", "校园植物调查"],
                 ["问题解决能力", "合作能力", "创新意识"]),
}
# Themes of class meetings and moral education (德育), whatever the subject.
THEMES = ["爱国主义教育", "安全教育", "文明礼仪", "感恩教育", "法治教育", "劳动教育", "心理健康教育", "环保教育",
          "传统节日", "红色经典", "禁毒教育", "防溺水安全"]
THEME_SHARE = 0.12
METHODS = ["情境导入", "小组合作探究", "动手实验", "问题链设计", "案例分析", "游戏活动", "思维导图", "任务驱动"]
CONTENTS = ["教学课件、课堂练习和参考答案", "微课视频和学习任务单", "教学设计和课后反思", "分层作业和评价量表",
            "实验视频和操作步骤", "知识点梳理和典型例题"]
LATIN = ["Python", "PPT", "PDF", "A01", "A02", "Scratch 3.0", "GeoGebra", "Word", "Excel", "WPS"]
REGIONS = ["东城区", "西城区", "海淀区", "朝阳区", "南山区", "福田区", "江宁区", "鼓楼区", "武侯区", "天河区"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高梁宋郑谢韩唐冯于董萧"
GIVEN = "丽华建国明伟芳敏静磊洋勇艳杰娟涛超秀英霞平刚桂兰玉珍志强军红梅晓燕"
SECTIONS = {"课程教学": ["同步课堂", "专题课程", "精品课"], "德育": ["主题班会", "专题教育"],
            "课后服务": ["科普教育", "经典阅读", "体育锻炼"], "教师研修": ["研修资源", "名师课堂"]}
# The forms (from the district's default vocabulary) by resource kind and file type.
FORM_KIND = {"微课": "student", "学习任务单": "student", "习题": "student", "试卷": "student",
             "数字图书": "student", "网络课程": "student", "素材": "teacher", "课件": "teacher",
             "教学设计": "teacher", "视频公开课": "teacher", "资源共享课": "teacher", "专家报告": "research",
             "培训课": "research"}
FORM_FILE_TYPE = {"微课": "video", "网络课程": "video", "视频公开课": "video", "专家报告": "video",
                  "培训课": "video", "资源共享课": "video", "课件": "document", "教学设计": "document",
                  "学习任务单": "document", "习题": "pdf", "试卷": "pdf", "数字图书": "pdf", "素材": "image"}
FIRST_YEAR, LAST_YEAR = 2015, 2025
EDITIONS = DEFAULTS["edition"]
FORMS = DEFAULTS["form"]


class Query(NamedTuple):
    text: str
    allowed: list[str]  # the searcher's visibility tokens
    filters: dict[str, str]


def record_count() -> int:
    """How many records to generate, from BENCH_SEARCH_RECORDS."""
    raw = os.environ.get("BENCH_SEARCH_RECORDS", str(DEFAULT_RECORDS))
    try:
        count = int(raw)
    except ValueError:
        count = 0
    if count < 1:
        raise BenchError(f"BENCH_SEARCH_RECORDS must be a whole number >= 1, not {raw!r}")
    return count


def records(count: int) -> Iterator[dict]:
    rng = random.Random(SEED)
    start = datetime(FIRST_YEAR, 1, 1)
    span = (datetime(LAST_YEAR, 12, 31) - start).total_seconds()
    for number in range(1, count + 1):
        subject = rng.choice(list(SUBJECTS))
        stages, topics, abilities = SUBJECTS[subject]
        stage = rng.choice(stages)
        grade = rng.choice(STAGE_GRADES[stage])
        edition = rng.choice(EDITIONS)
        form = rng.choice(FORMS)
        published_at = start + timedelta(seconds=rng.uniform(0, span))
        school = rng.randint(1, SCHOOLS)
        visible_to = f"school:{school}" if rng.random() < SCHOOL_ONLY_SHARE else "public"
        if rng.random() < THEME_SHARE:
            topic = rng.choice(THEMES)
            title = rng.choice([f"{topic}主题班会课件", f"{topic}主题班会（{grade}）", f"{grade}{topic}{form}"])
            section, category_path = "德育", f"德育/{topic}"
        else:
            topic = rng.choice(topics)
            title = _title(rng, topic, subject, grade, edition, form, published_at.year)
            section, category_path = rng.choice(["课程教学", "课后服务", "教师研修"]), f"学科教学/{stage}/{subject}"
        presenters = [_name(rng) for _ in range(rng.choice((1, 1, 2)))]
        yield {
            "id": number,
            "version": f"v{rng.randint(1, 3)}",
            "visible_to": visible_to,
            "title": title,
            "description": _description(rng, topic, subject, grade, edition, form, abilities, presenters[0]),
            "keywords": rng.sample([topic, subject, form, grade, *abilities], rng.randint(2, 4)),
            "presenters": presenters,
            "category_path": category_path,
            "catalogue_text": "",
            "kind": FORM_KIND[form],
            "form": form,
            "stage": stage,
            "subject": subject,
            "grade": grade,
            "edition": edition,
            "section": section,
            "column": rng.choice(SECTIONS[section]),
            "library": "district" if visible_to == "public" else visible_to,
            "file_type": FORM_FILE_TYPE[form],
            "source": rng.choice(list(SOURCES)),
            "grade_result": rng.choice([None, *GRADES]),
            "year": str(published_at.year),
            "published_at": published_at,
            "views": int(rng.paretovariate(1.2) * 10),
            "rating": round(rng.uniform(2.5, 5.0), 1) if rng.random() < 0.6 else None,
        }


def _title(rng, topic, subject, grade, edition, form, year):
    volume = rng.choice(["上册", "下册"])
    templates = [
        f"{edition}{grade}{subject} {topic}（{form}）",
        f"{grade}{subject}《{topic}》{form}",
        f"{topic}{form}",
        f"{edition}{subject}{grade}{volume} {topic}",
        f"{topic}——{grade}{subject}{form}",
        f"{year}年{rng.choice(REGIONS)}{grade}{subject}{rng.choice(['期中', '期末'])}试卷",
    ]
    title = rng.choice(templates)
    if rng.random() < 0.05:
        title += f" {rng.choice(LATIN)}"
    return title


def _description(rng, topic, subject, grade, edition, form, abilities, presenter):
    sentences = [
        f"本{form}围绕“{topic}”展开，帮助学生提升{rng.choice(abilities)}。",
        f"适用于{grade}{subject}课堂教学，也可用于课后复习。",
        f"通过{rng.choice(METHODS)}，引导学生理解{topic}的核心内容。",
        f"配套{edition}教材第{rng.randint(1, 8)}单元，时长约{rng.randint(5, 45)}分钟。",
        f"由{presenter}老师主讲，获{rng.randint(FIRST_YEAR, LAST_YEAR)}年区级优秀课例。",
        f"资源包含{rng.choice(CONTENTS)}。",
        f"附 {rng.choice(LATIN)} 资源包，可直接用于课堂。",
    ]
    return "".join(rng.sample(sentences, rng.randint(1, 3)))


def _name(rng):
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def queries() -> list[Query]:
    """The fixed query set: single words, parts of words, single characters, two words, quoted
    phrases, full pinyin and initials, Latin words and numbers; about a third with a subject or
    stage filter. Each is searched as a user of one school (public records and that school's)."""
    rng = random.Random(SEED)
    topics = [(subject, topic) for subject, (_stages, topics, _abilities) in SUBJECTS.items() for topic in topics]
    chinese_topics = [(subject, topic) for subject, topic in topics if not topic.isascii()]
    words = []  # (text, subject it belongs to or None)
    words += rng.sample(topics, 40)
    words += [(subject, topic[:2]) for subject, topic in rng.sample(chinese_topics, 15)]  # 勾股 in 勾股定理
    words += [(None, word) for word in ["八年级", "年级", "人教版", "人教", "微课", "主题班会", "教学设计", "课件"]]
    words += [(None, theme) for theme in THEMES]
    words += [(None, char) for char in "浮班诗"]
    words += [(subject, f"{topic} {rng.choice(FORMS)}") for subject, topic in rng.sample(chinese_topics, 20)]
    for subject in rng.sample(list(SUBJECTS), 12):
        grades = STAGE_GRADES[rng.choice(SUBJECTS[subject][0])]
        words.append((subject, f"{subject} {rng.choice(grades)}"))
    words += [(subject, f"{rng.choice(EDITIONS)} {topic}") for subject, topic in rng.sample(chinese_topics, 10)]
    words += [(None, f"{theme} 班会") for theme in rng.sample(THEMES, 6)]
    words += [(subject, f'"{topic}"') for subject, topic in rng.sample(chinese_topics, 20)]
    words += [(None, f'"{theme}主题班会"') for theme in rng.sample(THEMES, 5)]
    words += [(None, f'"{method}"') for method in rng.sample(METHODS, 5)]
    for subject, topic in rng.sample(chinese_topics, 30):
        full, initials = segment.pinyin_keys(topic)
        words += [(subject, full), (subject, initials)]
    words += [(None, segment.pinyin_keys(theme)[0]) for theme in rng.sample(THEMES, 6)]
    words += [(None, text) for text in [*LATIN, "python", "PYTHON", "2022", "2023", "Unit", "Unit 3", "50米"]]
    found = []
    for subject, text in words:
        allowed = ["public", f"school:{rng.randint(1, SCHOOLS)}"]
        found.append(Query(text, allowed, {}))
        if rng.random() < 0.4:
            subject = subject or rng.choice(list(SUBJECTS))
            stage = rng.choice(SUBJECTS[subject][0])
            filters = rng.choice([{"subject": subject}, {"stage": stage}, {"subject": subject, "stage": stage}])
            found.append(Query(text, allowed, filters))
    return found
