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
PASSWORD_HASH_METHOD = "scrypt"  # werkzeug hash method for passwords
PASSWORD_MIN_LENGTH = 8  # plus at least 3 of: lower, upper, digit, symbol
LOGIN_MAX_FAILURES = 5  # consecutive failures before the account is locked
LOGIN_LOCKOUT_MINUTES = 15  # how long a locked account stays locked
# A classroom signs in together from one school address, so the per-address limit is generous;
# guessing one account's password is held back by the per-account limit and the lockout.
LOGIN_RATE_LIMIT_PER_ADDRESS = "120 per minute"  # login attempts from one address
LOGIN_RATE_LIMIT_PER_ACCOUNT = "10 per minute"  # login attempts at one account name
REGISTER_RATE_LIMIT = "300 per hour"  # registrations from one address (a school's NAT serves hundreds)
IDLE_TIMEOUT_MINUTES = 30  # a session unused this long is signed out
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = False  # set True when served over HTTPS (it should be)
PERMANENT_SESSION_LIFETIME = timedelta(hours=12)  # hard cap on a session's age
PROXY_FIX = 0  # number of trusted reverse proxies in front (for client addresses)

# --- rate limits ------------------------------------------------------------------------
RATELIMIT_STORAGE_URI = "memory://"  # redis://127.0.0.1:6379/0 when several servers share limits
RATELIMIT_STRATEGY = "moving-window"  # no burst allowed at the edge of a fixed window
RATELIMIT_HEADERS_ENABLED = True

# --- forms ------------------------------------------------------------------------------
WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session
MAX_CONTENT_LENGTH = 16 * 1024 * 1024  # bytes per request body (uploads get their own caps)
ROSTER_MAX_ROWS = 20000  # rows accepted in one roster or school import
PAGE_SIZE = 20  # rows per page in lists
