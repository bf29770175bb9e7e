# Copy to instance/config.py and adjust. Every setting can also come from RESLIB_<NAME> in the environment.
DISTRICT_NAME = "东昌区教育局"
PLUGINS = ["points", "awards", "sync_provincial"]
# DATABASE_URL = "postgresql+psycopg://reslib@127.0.0.1/reslib"
# RATELIMIT_STORAGE_URI = "redis://127.0.0.1:6379/0"
# SESSION_COOKIE_SECURE = True
