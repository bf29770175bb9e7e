"""What the district sees of this plugin on its plugins page (read without loading the plugin)."""
from flask_babel import lazy_gettext as _l

ABOUT = {"title": _l("积分制评价"),
         "description": _l("资源按使用情况计分：学习、浏览、下载、评价和入库都为教师、学生和学校积分；每学期按身份对照基准评价个人，区里对学校进行评价和排名。")}
