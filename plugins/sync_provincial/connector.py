"""Delivering a round through a platform's HTTP API, for platforms that offer one (the others get the package).

The exchange, JSON both ways, with ``Authorization: Bearer <PLATFORM_API_TOKEN>``:
- ``POST <submit_url>`` with one selected resource (``Idempotency-Key`` = the recommendation's delivery key, so a
  retry after a lost answer files it once) answers ``{"status": "received" | "accepted" | "rejected", "reason",
  "url"}``;
- ``GET <submit_url>/<delivery key>`` answers the same for a resource delivered before.
Every call goes through safe_http (allowlist, private addresses, caps) and is retried with back-off.
"""
import json
import time
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _

from plugins.sync_provincial import oai, rounds, safe_http
from plugins.sync_provincial.models import Recommendation, RecommendationRound
from reslib.errors import ReslibError

ATTEMPTS = 3
# The platform's word for each step, as the recommendation's status.
STATUS_FROM_ANSWER = {"received": "submitted", "accepted": "accepted", "rejected": "rejected", "online": "online"}


@dataclass
class Delivery:
    changed: int = 0
    problems: list[str] = field(default_factory=list)


def deliver(actor, round_: RecommendationRound) -> Delivery:
    """Send every selected resource, then take in the answers for those sent before."""
    rounds.require_district(actor)
    if not round_.submit_url:
        raise ReslibError(_("此推荐活动没有填写平台接收接口，请下载材料包报送。"), field="submit_url")
    report = Delivery()
    for item in rounds.recommendations(round_):
        if item.status not in ("selected", "submitted", "accepted"):
            continue
        try:
            if item.status == "selected":
                answer = _call("POST", round_.submit_url, item, payload(item))
            else:
                answer = _call("GET", f"{round_.submit_url.rstrip('/')}/{item.delivery_key}", item)
            report.changed += _take(actor, item, answer)
        except ReslibError as exc:
            report.problems.append(f"{item.resource.title}：{exc.message}")
    return report


def payload(item: Recommendation) -> dict:
    return {"id": item.delivery_key, "round": item.round.title, "section": item.section, "column": item.column,
            "note": item.note, "maker": item.resource.school.name if item.resource.school else "",
            "metadata": oai.national_fields(item.resource)}


def _call(method: str, url: str, item: Recommendation, body: dict | None = None) -> dict:
    headers = {"Idempotency-Key": item.delivery_key}
    token = current_app.config.get("PLATFORM_API_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    pause = current_app.config["PLATFORM_RETRY_SECONDS"]
    for attempt in range(1, ATTEMPTS + 1):
        try:
            answer = safe_http.request(method, url, json=body, headers=headers)
            break
        except safe_http.OutboundRefused:
            if attempt == ATTEMPTS:
                raise
            time.sleep(pause * 2 ** (attempt - 1))  # the same key again: the platform files it once
    try:
        reply = json.loads(answer.body)
    except ValueError:
        reply = None
    if not isinstance(reply, dict) or reply.get("status") not in STATUS_FROM_ANSWER:
        raise ReslibError(_("平台的答复无法识别"), code="bad_answer", status=502)
    return reply


def _take(actor, item: Recommendation, reply: dict) -> int:
    """Move the recommendation to what the platform said, step by step (accepted before online); 1 if it moved."""
    wanted = STATUS_FROM_ANSWER[reply["status"]]
    path = {"submitted": ["submitted"], "accepted": ["submitted", "accepted"], "rejected": ["submitted", "rejected"],
            "online": ["submitted", "accepted", "online"]}[wanted]
    before = item.status
    for status in path[path.index(item.status) + 1 if item.status in path else 0:]:
        rounds.record_answer(actor, item, status, reason=str(reply.get("reason") or _("平台未说明原因"))[:500],
                             url=str(reply.get("url") or ""))
    return int(item.status != before)
