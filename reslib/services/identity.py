"""Checks on who a person says they are: names, numbers, national ID (GB 11643), passwords."""
import hashlib
import hmac
import re
from datetime import date
from functools import cache
from importlib.resources import files

from flask import current_app
from flask_babel import gettext as _

from reslib.errors import ReslibError

_MIDDLE_DOTS = "·•‧・∙"  # people type the separator of minority and foreign names many ways
_NAME_RE = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaffA-Za-z·]+( [A-Za-z·]+)*$")
_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,31}$")
_IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9-]{1,32}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"


def normalise_real_name(raw: str) -> str:
    name = (raw or "").strip()
    for dot in _MIDDLE_DOTS:
        name = name.replace(dot, "·")
    name = re.sub(r"\s+", " ", name)
    if not 2 <= len(name) <= 40 or not _NAME_RE.match(name) or name.startswith("·") or name.endswith("·"):
        raise ReslibError(_("请填写真实姓名（2–40 个汉字或字母，少数民族姓名可用“·”分隔）"), field="real_name")
    return name


def normalise_username(raw: str) -> str:
    username = (raw or "").strip().lower()
    if not _USERNAME_RE.match(username):
        raise ReslibError(_("用户名为 3–32 位小写字母、数字、点、下划线或连字符，以字母或数字开头"), field="username")
    return username


def normalise_identifier(raw: str) -> str:
    identifier = (raw or "").strip().upper()
    if not _IDENTIFIER_RE.match(identifier):
        raise ReslibError(_("学号或工号为 1–32 位字母、数字或连字符"), field="identifier")
    return identifier


def national_id_is_valid(raw: str) -> bool:
    """GB 11643-1999: 17 digits, a valid birth date, then the ISO 7064 MOD 11-2 check character."""
    number = (raw or "").strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if not date(1900, 1, 1) <= born <= date.today():
        return False
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], _ID_WEIGHTS))
    return _ID_CHECK_CHARS[total % 11] == number[17]


def protect_national_id(raw: str) -> tuple[str, str]:
    """Validate and return (keyed hash, masked form). The number itself is never stored."""
    number = (raw or "").strip().upper()
    if not national_id_is_valid(number):
        raise ReslibError(_("身份证号码无效（请检查位数、出生日期和最后一位校验码）"), field="id_number")
    key = current_app.config["ID_NUMBER_KEY"].encode()
    digest = hmac.new(key, number.encode(), hashlib.sha256).hexdigest()
    return digest, mask_national_id(number)


def mask_national_id(number: str) -> str:
    return number[:3] + "*" * 11 + number[-4:]


# The two-character surnames common enough to matter; every other name starts with a one-character surname.
_COMPOUND_SURNAMES = frozenset("欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 令狐 长孙 宇文 司徒 夏侯 轩辕 端木 独孤 南宫 西门 申屠".split())


def pupil_name(real_name: str) -> str:
    """How a pupil is named to those outside their school: 林同学 for 林诗琪, 欧阳同学 for 欧阳晓晨.
    Minority names (阿依古丽·买买提) have no surname up front; their first character serves alike."""
    surname = real_name[:2] if real_name[:2] in _COMPOUND_SURNAMES else real_name[:1]
    return _("%(surname)s同学", surname=surname)


@cache
def _common_passwords() -> frozenset[str]:
    text = files("reslib").joinpath("data/common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def check_password_policy(password: str, username: str = "") -> None:
    password = password or ""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    classes = sum(
        bool(re.search(pattern, password)) for pattern in (r"[a-z]", r"[A-Z]", r"\d", r"[^A-Za-z0-9]")
    )
    if len(password) < minimum or classes < 3:
        raise ReslibError(
            _("密码至少 %(n)s 位，并包含大写字母、小写字母、数字、符号中的至少三类", n=minimum), field="password"
        )
    if password.lower() in _common_passwords() or (username and username.lower() in password.lower()):
        raise ReslibError(_("这个密码太常见或包含用户名，请换一个"), field="password")
