"""Sign-in CPU per attempt: one password check with the configured argon2id against werkzeug's scrypt default.

A class rush is bounded by these checks (issue 26: at scrypt's 0.18-0.23 s, 400 pupils arriving within a minute
took 1.5 of the 2 cores before any page was served). Both are checked in this process, taking turns.
"""
import statistics
import tempfile
import time

from werkzeug.security import generate_password_hash

from bench.common import Figure

ROUNDS = 5  # the two hashes take turns this many times; each one's figure is its median check
CHECKS = 4  # checks of each hash per round
PASSWORD = "Dongchang#2026"
# argon2id should cost at most a quarter of scrypt's CPU, so a rush of 400 pupils a minute needs under half a core.
TARGET = 0.25


def figures() -> list[Figure]:
    from reslib import create_app
    from reslib.services import accounts

    with tempfile.TemporaryDirectory(prefix="bench-signin-") as instance:
        app = create_app({"INSTANCE_PATH": instance})
        with app.app_context():
            argon2id = accounts.hash_password(PASSWORD)  # as reslib/config.py (or the environment) sets it
            scrypt = generate_password_hash(PASSWORD)  # werkzeug's default method, what reslib used before
            spent = {argon2id: [], scrypt: []}
            for _round in range(ROUNDS):
                for stored, seconds in spent.items():
                    for _check in range(CHECKS):
                        start = time.process_time()
                        assert accounts.verify_password(stored, PASSWORD)
                        seconds.append(time.process_time() - start)
    value, baseline = (statistics.median(spent[stored]) * 1000 for stored in (argon2id, scrypt))
    parameters = argon2id.split("$")[3]  # m=…,t=…,p=…
    ratio = value / baseline
    return [Figure(
        name=f"sign-in: CPU of one password check, argon2id {parameters} vs werkzeug {scrypt.split('$')[0]}",
        value=round(value, 1),
        baseline=round(baseline, 1),
        ratio=round(ratio, 3),
        unit="ms CPU",
        corpus_size=None,
        target=TARGET,
        lower_is_better=True,
        passed=ratio < TARGET,
        tool="in-process",
        errors=0,
    )]
