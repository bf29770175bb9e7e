"""Sign-in limits: which limit an address gets, and where every worker of a server counts attempts.

Flask-Limiter's in-memory storage counts in each worker process alone (so a limit is as many times looser
as there are workers) and, in limits <= 5.8, races under threaded workers. By default attempts are counted
in a SQLite file in the instance folder instead, which every worker and thread of the server shares;
several servers share a Redis (RATELIMIT_STORAGE_URI).
"""
import ipaddress
import os
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path
from urllib.parse import urlparse

from flask import Flask, current_app, request
from flask.logging import default_handler
from flask_limiter import Limiter
from limits.errors import ConfigurationError
from limits.storage import MovingWindowSupport, Storage

SQLITE_SCHEME = "reslib+sqlite"
BUSY_TIMEOUT_SECONDS = 5  # a worker waits this long for another's write; then the limiter's failure is logged


class SQLiteStorage(Storage, MovingWindowSupport):
    """Moving windows in a SQLite file (``reslib+sqlite:///path/ratelimit.db``): one row per attempt.

    Each thread of each process keeps a connection of its own (closing the last connection to a WAL
    database checkpoints it, which cost 2 ms an attempt), and an attempt is counted and added inside one
    write transaction, so two workers never both take the last place.
    """

    STORAGE_SCHEME = [SQLITE_SCHEME]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options):
        self.path = urlparse(uri).path
        self._local = threading.local()
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        with closing(sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS)) as db:
            db.execute("PRAGMA journal_mode=WAL")  # workers read the counts while one writes
            db.execute("CREATE TABLE IF NOT EXISTS attempt"
                       " (key TEXT NOT NULL, at REAL NOT NULL, expires REAL NOT NULL)")
            db.execute("CREATE INDEX IF NOT EXISTS attempt_key ON attempt (key, at)")
            db.execute("CREATE INDEX IF NOT EXISTS attempt_expires ON attempt (expires)")

    @property
    def base_exceptions(self):
        return sqlite3.Error

    def _db(self) -> sqlite3.Connection:
        # Opened again in a forked worker: a connection must never cross a fork.
        if getattr(self._local, "pid", None) != os.getpid():
            self._local.db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
            self._local.db.execute("PRAGMA synchronous=NORMAL")  # counts need not survive a power cut
            self._local.pid = os.getpid()
        return self._local.db

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        now = time.time()
        with self._db() as db:  # commits, or rolls back on an error
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM attempt WHERE expires <= ?", (now,))
            (count,) = db.execute("SELECT count(*) FROM attempt WHERE key = ?", (key,)).fetchone()
            if count + amount > limit:
                return False
            db.executemany("INSERT INTO attempt VALUES (?, ?, ?)", [(key, now, now + expiry)] * amount)
            return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = time.time()
        oldest, count = self._db().execute("SELECT min(at), count(*) FROM attempt WHERE key = ? AND expires > ?",
                                           (key, now)).fetchone()
        return oldest or now, count

    def clear(self, key: str) -> None:
        self._db().execute("DELETE FROM attempt WHERE key = ?", (key,))

    def reset(self) -> int:
        return self._db().execute("DELETE FROM attempt").rowcount

    def check(self) -> bool:
        try:
            self._db().execute("SELECT 1 FROM attempt LIMIT 1")
        except sqlite3.Error:
            return False
        return True

    # The fixed-window counters; SignInLimiter refuses any strategy but the moving window for this storage.
    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        raise NotImplementedError

    def get(self, key: str) -> int:
        raise NotImplementedError

    def get_expiry(self, key: str) -> float:
        raise NotImplementedError


class SignInLimiter(Limiter):
    """Flask-Limiter counting in the instance folder unless RATELIMIT_STORAGE_URI names a storage, logging its
    own failures where the app logs (RATELIMIT_SWALLOW_ERRORS lets the request go on), and knowing the
    district's school networks."""

    def init_app(self, app: Flask) -> None:
        config = app.config
        if not config["RATELIMIT_STORAGE_URI"]:
            config["RATELIMIT_STORAGE_URI"] = f"{SQLITE_SCHEME}://{Path(app.instance_path, 'ratelimit.db')}"
        counted_in_sqlite = config["RATELIMIT_STORAGE_URI"].startswith(SQLITE_SCHEME)
        if counted_in_sqlite and config["RATELIMIT_STRATEGY"] != "moving-window":
            raise ConfigurationError(f"the {SQLITE_SCHEME} storage counts moving windows only (RATELIMIT_STRATEGY)")
        networks = config["SCHOOL_NETWORKS"]
        if isinstance(networks, str):  # RESLIB_SCHOOL_NETWORKS=10.1.0.0/16,10.2.0.0/16
            networks = [part for part in (n.strip() for n in networks.split(",")) if part]
        app.extensions["reslib.school_networks"] = [ipaddress.ip_network(network) for network in networks]
        # Flask-Limiter's own logger has no handler: a failure it swallows would otherwise be logged nowhere.
        self.logger.addHandler(default_handler)
        super().init_app(app)


def _from_school_network() -> bool:
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:  # served on a unix socket without PROXY_FIX: no address to place
        return False
    address = getattr(address, "ipv4_mapped", None) or address  # ::ffff:10.1.2.3 from a dual-stack socket
    return any(address in network for network in current_app.extensions["reslib.school_networks"])


def limit_reads(view):
    """Apply the view's limits to GET requests too (by default only changes are limited: see extensions)."""
    view.limits_reads = True
    return view


def address_limit() -> str:
    """The sign-in limit of the requesting address: school-sized inside SCHOOL_NETWORKS, tighter elsewhere."""
    setting = "LOGIN_RATE_LIMIT_PER_SCHOOL_ADDRESS" if _from_school_network() else "LOGIN_RATE_LIMIT_PER_ADDRESS"
    return current_app.config[setting]
