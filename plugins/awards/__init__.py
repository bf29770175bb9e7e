"""What the district sees of this plugin on its plugins page (read without loading the plugin)."""
from flask_babel import lazy_gettext as _l

ABOUT = {"title": _l("区级评比与证书"),
         "description": _l("区级资源评比：报名、学校推荐、专家匿名评审、按比例评定奖项，颁发可扫码核验的数字证书，并生成职称评审用的获奖记录。")}
