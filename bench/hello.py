"""The baseline: the least work a Flask app can do behind gunicorn (served as ``bench.hello:app``)."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "hello"
