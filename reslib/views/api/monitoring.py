"""The monitoring figures for Prometheus, read with the district's METRICS_TOKEN."""
import hmac

from flask import current_app, request
from flask_babel import gettext as _
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from reslib.errors import ReslibError
from reslib.services import monitoring
from reslib.views.api.base import bearer_token, bp


@bp.route("/metrics")
def metrics():
    """The monitoring page's platform and library figures in Prometheus's text format.

    A scraper holds the district's METRICS_TOKEN, not a person's token: a person's token (a district admin's
    above all) would put their account's every right, minors' records among them, on the monitoring server.
    ---
    get:
      summary: 运行监控指标（Prometheus 格式，凭 METRICS_TOKEN 访问）
      security: [{bearerAuth: []}]
      responses:
        200:
          description: "gauges named reslib_*: worker, queue, media processing, library renewal, use, accounts, disk"
          content: {text/plain: {schema: {type: string}}, application/openmetrics-text: {schema: {type: string}}}
        401:
          description: missing or wrong metrics token
          content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
        404:
          description: no METRICS_TOKEN is configured, so metrics are off
          content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
    """
    expected = current_app.config["METRICS_TOKEN"]
    token = bearer_token()
    if token is not None and not expected:  # who is asking comes first: without a token, a 401 as everywhere
        raise ReslibError(_("指标接口未启用：请在配置中设置 METRICS_TOKEN"), code="not_enabled", status=404)
    if token is None or not hmac.compare_digest(token.encode(), expected.encode()):
        raise ReslibError(_("需要有效的指标令牌（Authorization: Bearer …）"), code="unauthorized", status=401)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(monitoring.Snapshot())
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return encode(registry), 200, {"Content-Type": content_type}
