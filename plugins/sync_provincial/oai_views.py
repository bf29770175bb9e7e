"""/oai: the OAI-PMH provider, for harvesters without an account (what it answers is in plugins.sync_provincial.oai)."""
from pathlib import Path

from flask import Blueprint, Response, request, url_for

from plugins.sync_provincial import oai
from reslib.extensions import csrf

bp = Blueprint("sync_provincial_oai", __name__)
SCHEMA = Path(__file__).parent / "data" / "nsr.xsd"


@bp.route("/oai", methods=["GET", "POST"])
@csrf.exempt  # the protocol allows POST from harvesters, which have no session: nothing here changes anything
def provider():
    args = (request.form if request.method == "POST" else request.args).to_dict(flat=False)
    body, status = oai.respond(args, url_for("sync_provincial_oai.provider", _external=True))
    return Response(body, status=status, mimetype="text/xml", headers={"Cache-Control": "no-store"})


@bp.route("/oai/nsr.xsd")
def nsr_schema():
    return Response(SCHEMA.read_bytes(), mimetype="application/xml")
