"""What the district sees of this plugin on its plugins page (read without loading the plugin)."""
from flask_babel import lazy_gettext as _l

ABOUT = {"title": _l("对接省级、国家平台"),
         "description": _l("向省级、国家平台推荐优质资源（名额、国家标准核对、推荐表、报送与结果），按计划采集平台和学校的资源目录，并向平台提供本区资源目录（OAI-PMH）。")}
