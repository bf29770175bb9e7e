"""Every default setting, each overridable by instance/config.py or RESLIB_<NAME> in the environment."""
from datetime import timedelta

# --- site -------------------------------------------------------------------------------
DISTRICT_NAME = "东昌区教育局"  # shown in the header and page titles
BABEL_DEFAULT_LOCALE = "zh_CN"  # UI language unless a user picks another
LANGUAGES = ["zh_CN", "en"]  # languages a user may switch to

# --- storage ----------------------------------------------------------------------------
DATABASE_URL = None  # e.g. postgresql+psycopg://user@host/db; None = SQLite in instance/
SQLITE_BUSY_TIMEOUT_MS = 5000  # how long a SQLite writer waits for the lock
SECRET_KEY = None  # signs sessions; None = generated once into instance/secret_key
ID_NUMBER_KEY = None  # keys the hash of national ID numbers; None = instance/id_number_key

# --- plugins ----------------------------------------------------------------------------
PLUGINS = []  # enabled plugins by entry-point name, e.g. ["points", "awards", "sync_provincial"]

# --- accounts and sessions --------------------------------------------------------------
# Passwords are hashed with argon2id at OWASP's parameters, a fifth of the CPU of werkzeug's scrypt default
# (make bench: 21 against 99 ms a check). Hashes made before (werkzeug's scrypt or pbkdf2) or with other
# parameters still verify, and are rehashed with these at the person's next successful sign-in.
PASSWORD_ARGON2_MEMORY_KIB = 19456  # memory one check fills, in KiB (19 MiB)
PASSWORD_ARGON2_TIME_COST = 2  # passes over that memory
PASSWORD_ARGON2_PARALLELISM = 1  # threads per check: one, so a rush of sign-ins shares the cores fairly
PASSWORD_MIN_LENGTH = 8  # plus at least 3 of: lower, upper, digit, symbol
LOGIN_MAX_FAILURES = 5  # consecutive failures before the account is locked
LOGIN_LOCKOUT_MINUTES = 15  # how long a locked account stays locked
REGISTER_RATE_LIMIT = "300 per hour"  # registrations from one address (a school's NAT serves hundreds)
IDLE_TIMEOUT_MINUTES = 30  # a session unused this long is signed out
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = False  # set True when served over HTTPS (it should be)
PERMANENT_SESSION_LIFETIME = timedelta(hours=12)  # hard cap on a session's age
SESSION_REFRESH_EACH_REQUEST = False  # the cap counts from sign-in; the idle check refreshes the cookie once a minute
PROXY_FIX = 0  # number of trusted reverse proxies in front (for client addresses)

# --- sign-in limits ----------------------------------------------------------------------
# Every attempt counts, right or wrong, in one storage that all workers share (docs/operations.md). A whole
# school often reaches the server from one NAT address, and at the bell 1,000-2,000 pupils sign in, about 20 a
# second: 1,200 a minute. So a school's address may make 1,800 attempts a minute (the rush, and every other pupil
# retyping a password) and 6,000 an hour (each pupil of a large school three times); any other address, a home
# or a carrier's shared address, needs a few, and one guessing passwords is held to 30 a minute. Guessing one
# account's password is held by the per-account limit and the lockout, from any number of addresses.
LOGIN_RATE_LIMIT_PER_ACCOUNT = "5 per minute"  # attempts at one account name: as fast as LOGIN_MAX_FAILURES, no faster
LOGIN_RATE_LIMIT_PER_SCHOOL_ADDRESS = "1800 per minute; 6000 per hour"  # attempts from one address in SCHOOL_NETWORKS
LOGIN_RATE_LIMIT_PER_ADDRESS = "30 per minute; 200 per hour"  # attempts from any other address
# The district's school networks as CIDRs (RESLIB_SCHOOL_NETWORKS: a JSON list, or commas). Schools on the education
# network reach the server from private addresses; add the public ones of schools that come over the internet.
SCHOOL_NETWORKS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]
# None = a SQLite file in instance/ that the server's workers share; redis://127.0.0.1:6379/0 when several servers do
RATELIMIT_STORAGE_URI = None
RATELIMIT_STRATEGY = "moving-window"  # no burst allowed at the edge of a fixed window
RATELIMIT_HEADERS_ENABLED = True
RATELIMIT_SWALLOW_ERRORS = True  # a failing storage is logged and the attempt goes on, held by the lockout alone

# --- forms ------------------------------------------------------------------------------
WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session
MAX_CONTENT_LENGTH = 16 * 1024 * 1024  # bytes per request body (uploads get their own caps)
ROSTER_MAX_ROWS = 20000  # rows accepted in one roster or school import
PAGE_SIZE = 20  # rows per page in lists

# --- resources: storage, uploads, processing ----------------------------------------------
STORAGE_PATH = None  # where uploaded files live (content-addressed); None = instance/files
UPLOAD_MAX_BYTES = {  # size cap per kind of file, in bytes
    "video": 4 * 1024**3,
    "audio": 500 * 1024**2,
    "pdf": 500 * 1024**2,
    "document": 200 * 1024**2,
    "image": 50 * 1024**2,
    "archive": 2 * 1024**3,
}
QUEUE_URL = None  # None = a SQLite file in instance/ (one server); redis://127.0.0.1:6379/1 when several share it
MEDIA_TIMEOUT_SECONDS = 1800  # longest a single ffmpeg run may take before it is stopped
STAGING_MAX_AGE_SECONDS = 6 * 3600  # staging files older than this are leftovers of broken uploads
X_ACCEL_REDIRECT = None  # e.g. "/_files/": nginx serves downloads from an internal location with this prefix

# --- review and grading ---------------------------------------------------------------------
REVIEW_PANEL_SIZE = 2  # reviewers per resource in district review
REVIEW_DAYS = 14  # days a reviewer has to score
REVIEW_RUBRIC = {  # criterion: maximum points; the mean of the reviewers' totals gives the grade
    "导向正确": 20,
    "科学规范": 20,
    "教学价值": 30,
    "技术质量": 20,
    "版权合规": 10,
}
REVIEW_GRADE_THRESHOLDS = {"excellent": 90, "good": 75, "pass": 60}  # lowest mean total for 优 / 良 / 合格
REVIEW_DISAGREEMENT_POINTS = 20  # totals further apart than this are flagged for the panel

# --- search ---------------------------------------------------------------------------------
SEARCH_BACKEND = "whoosh"  # or "postgres": search inside PostgreSQL, for several app servers sharing it
SEARCH_INDEX_PATH = None  # the Whoosh index folder; None = instance/search-index
# Seconds between a web process's looks for index changes to read ahead (gunicorn.conf.py starts it)
SEARCH_WARM_INTERVAL = 30

# --- monitoring -----------------------------------------------------------------------------
METRICS_TOKEN = None  # a long random secret Prometheus sends to read /api/v1/metrics; None = metrics off

# --- usage ----------------------------------------------------------------------------------
USAGE_DEDUP_MINUTES = 30  # repeated views/downloads of one resource by one user within this count once
