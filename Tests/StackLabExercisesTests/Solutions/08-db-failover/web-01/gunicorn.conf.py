# web-01: the app server (gunicorn settings, one "name = value" per line).
wsgi_app = "foobar:app"
bind = "127.0.1.11:8000"
workers = 4
timeout = 30
accesslog = "-"
# Where the foobar app finds its database: writes go to the primary (web-01), reads to the replica (web-02).
# Writes go to the first server of DB_PRIMARY that takes them: web-01, or web-02 once promoted.
raw_env = ["DB_PRIMARY=127.0.1.11:3306,127.0.1.12:3306", "DB_REPLICA=127.0.1.12:3306", "DB_NAME=foobar", "DB_USER=app", "DB_PASSWORD=app-secret"]
