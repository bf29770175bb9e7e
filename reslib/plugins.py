"""The plugin manager: core default plugins plus the enabled entry points of group ``reslib.plugins``."""
import importlib
from importlib.metadata import entry_points

import pluggy
from flask import current_app

from reslib import hookspecs

ENTRY_POINT_GROUP = "reslib.plugins"
# Core features written as plugins of the same API, so a newcomer sees one mechanism.
DEFAULT_PLUGINS = ("reslib.default_plugins.navigation", "reslib.default_plugins.checks",
                   "reslib.default_plugins.search_sync")


def hooks():
    """The current app's hooks, to call one: ``hooks().resource_changed(resource=…, change=…, actor=…)``."""
    return current_app.extensions["reslib.plugins"].hook


class PluginError(RuntimeError):
    """Start-up refused: a plugin is enabled but not installed, or implements an unknown hook."""


def installed_plugins() -> dict:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def enabled_names(config) -> list[str]:
    names = config.get("PLUGINS") or []
    if isinstance(names, str):  # RESLIB_PLUGINS=points,awards
        names = [n for n in (part.strip() for part in names.split(",")) if n]
    return list(names)


def build_plugin_manager(config) -> pluggy.PluginManager:
    pm = pluggy.PluginManager("reslib")
    pm.add_hookspecs(hookspecs)
    for module_name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name)
    installed = installed_plugins()
    for name in enabled_names(config):
        if name not in installed:
            known = "、".join(sorted(installed)) or "无"
            raise PluginError(
                f"插件“{name}”已在 RESLIB_PLUGINS 中启用，但没有安装（已安装的插件：{known}）。"
                f" Plugin {name!r} is enabled but not installed."
            )
        pm.register(installed[name].load(), name=name)
    for plugin in config.get("EXTRA_PLUGINS", ()):  # objects handed in directly, e.g. by tests
        pm.register(plugin)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(str(exc)) from exc
    return pm


def for_the_district(config) -> list[dict]:
    """Every installed plugin as the district sees it: what it does (its package's ABOUT, read without loading
    the plugin itself, so a plugin that is off adds no tables and no hooks) and whether it is on."""
    enabled = set(enabled_names(config))
    rows = []
    for name, entry_point in sorted(installed_plugins().items()):
        package = entry_point.value.split(":")[0].rpartition(".")[0]
        about = getattr(importlib.import_module(package), "ABOUT", {}) if package else {}
        rows.append({"name": name, "title": about.get("title", name), "description": about.get("description", ""),
                     "enabled": name in enabled})
    return rows


def describe(pm: pluggy.PluginManager) -> list[dict]:
    """Each registered plugin with the hooks it implements, for ``reslib plugins`` and the admin page."""
    rows = []
    for name, plugin in pm.list_name_plugin():
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        rows.append({"name": name, "default": name in DEFAULT_PLUGINS, "hooks": hooks})
    return rows
