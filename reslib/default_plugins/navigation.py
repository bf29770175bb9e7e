"""The core's own navigation, contributed through the same menu_links hook plugins use."""
from flask_babel import lazy_gettext as _l

from reslib import hookimpl
from reslib.permissions import can


@hookimpl(trylast=True)
def menu_links(user):
    if not user.is_authenticated:
        return [{"label": _l("首页"), "endpoint": "main.index", "order": 10}]
    links = [{"label": _l("我的主页"), "endpoint": "main.dashboard", "order": 10},
             {"label": _l("资源库"), "endpoint": "library.browse", "order": 20}]
    if can(user, "resource.upload"):
        links.append({"label": _l("上传资源"), "endpoint": "upload.page", "order": 30})
        links.append({"label": _l("我的资源"), "endpoint": "upload.mine", "order": 31})
    if can(user, "review.queue"):
        links.append({"label": _l("审核"), "endpoint": "review.queue", "order": 40})
    if can(user, "accounts.list"):
        links.append({"label": _l("账号管理"), "endpoint": "admin.accounts", "order": 60, "group": "admin"})
        links.append({"label": _l("待审核账号"), "endpoint": "admin.verifications", "order": 61, "group": "admin"})
    if can(user, "schools.manage"):
        links.append({"label": _l("学校管理"), "endpoint": "admin.schools", "order": 70, "group": "admin"})
    if can(user, "resources.import", user.school):
        links.append({"label": _l("批量导入"), "endpoint": "admin.import_resources", "order": 74, "group": "admin"})
    if can(user, "taxonomy.manage"):
        links.append({"label": _l("分类词表"), "endpoint": "admin.taxonomy", "order": 75, "group": "admin"})
    if can(user, "monitoring.view"):
        links.append({"label": _l("运行监控"), "endpoint": "admin.monitoring", "order": 79, "group": "admin"})
    if can(user, "audit.view"):
        links.append({"label": _l("审计日志"), "endpoint": "admin.audit", "order": 80, "group": "admin"})
    if can(user, "plugins.view"):
        links.append({"label": _l("扩展功能"), "endpoint": "admin.plugins", "order": 90, "group": "admin"})
    return links
