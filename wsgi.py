"""What gunicorn serves: ``gunicorn -k gthread wsgi:app``."""
from reslib import create_app

app = create_app()
