# web-01: the app server (gunicorn settings, one "name = value" per line).
wsgi_app = "foobar:app"
bind = "127.0.1.11:8000"
workers = 4
timeout = 30
accesslog = "-"
