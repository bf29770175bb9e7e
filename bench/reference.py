"""QUALITY.md's reference page: 20 rows from SQLAlchemy in a Jinja table, with no layout, session or sign-in.

Served as ``bench.reference:app`` beside hello-world, it shows in the same run what the page targets ask:
QUALITY.md measured this page at about a third of hello-world's rate, and a quarter is what each of
reslib's pages, signed in and inside the site's layout, is held to.
"""
import os

from flask import Flask, render_template
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DATABASE_VARIABLE = "BENCH_REFERENCE_DATABASE"  # the SQLite file create_database() filled
ROWS = 1000
SHOWN = 20


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Lesson(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    teacher: Mapped[str]
    views: Mapped[int] = mapped_column(index=True)


def make_app(database: str) -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{database}"
    db.init_app(app)

    @app.get("/")
    def most_viewed():
        lessons = db.session.scalars(db.select(Lesson).order_by(Lesson.views.desc()).limit(SHOWN)).all()
        return render_template("reference.html", lessons=lessons)

    return app


def create_database(database: str) -> None:
    """Fill ``database`` once, before the server starts, so its workers never race to."""
    app = make_app(database)
    with app.app_context():
        db.create_all()
        db.session.add_all(Lesson(title=f"勾股定理的证明 第 {number} 课", teacher=f"教师{number % 37}",
                                  views=number * 7 % ROWS) for number in range(ROWS))
        db.session.commit()


if DATABASE_VARIABLE in os.environ:  # in a gunicorn worker
    app = make_app(os.environ[DATABASE_VARIABLE])
