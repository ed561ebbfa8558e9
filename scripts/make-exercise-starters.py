#!/usr/bin/env python3
"""Writes the starter lab files of each exercise from the built-in foobar lab (run once when the built-in lab
changes; README.md and exercise.json are written by hand and kept). Then `make exercises-resources` copies
exercises/ into the module's resources."""
import os, re, shutil, sys
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
foobar = os.path.join(root, "Sources/StackLab/Resources/labs/foobar")

def copy_lab(dest, mysql):
    for server in ["lb-01", "web-01", "web-02"]:
        os.makedirs(os.path.join(dest, server), exist_ok=True)
    shutil.copy(os.path.join(foobar, "lb-01/haproxy.cfg"), os.path.join(dest, "lb-01/haproxy.cfg"))
    for web in ["web-01", "web-02"]:
        src = os.path.join(foobar, web)
        shutil.copytree(os.path.join(src, "www"), os.path.join(dest, web, "www"), dirs_exist_ok=True)
        shutil.copy(os.path.join(src, "nginx.conf"), os.path.join(dest, web, "nginx.conf"))
        g = open(os.path.join(src, "gunicorn.conf.py")).read()
        if mysql:
            shutil.copy(os.path.join(src, "my.cnf"), os.path.join(dest, web, "my.cnf"))
            shutil.copy(os.path.join(src, "init.sql"), os.path.join(dest, web, "init.sql"))
        else:
            g = re.sub(r"# Where the foobar app.*\n.*raw_env.*\n", "", g)
        open(os.path.join(dest, web, "gunicorn.conf.py"), "w").write(g)
    procs = "nginx gunicorn mysql" if mysql else "nginx gunicorn"
    open(os.path.join(dest, "lab.conf"), "w").write(
        "# The foobar.com lab: the three-server design, on this machine's loopback addresses.\n"
        "# Each line: server NAME ADDRESS PROCESS...  (processes: haproxy, nginx, gunicorn, mysql)\n"
        "lab foobar\n\n"
        "server lb-01   127.0.1.1   haproxy\n"
        f"server web-01  127.0.1.11  {procs}\n"
        f"server web-02  127.0.1.12  {procs}\n")

def edit(path, old, new):
    s = open(path).read()
    if old not in s: sys.exit(f"{path}: cannot find {old!r}")
    open(path, "w").write(s.replace(old, new, 1))

ex = os.path.join(root, "exercises")
plans = {
    "01-weights": False, "02-failover": False, "03-read-replica": True, "04-https": False,
    "05-firewall": True, "06-alerts": False, "07-keepalived": False, "08-db-failover": True,
}
for name, mysql in plans.items():
    dest = os.path.join(ex, name)
    for item in ["lab.conf", "lb-01", "web-01", "web-02", "monitor"]:
        p = os.path.join(dest, item)
        if os.path.isdir(p): shutil.rmtree(p)
        elif os.path.exists(p): os.remove(p)
    copy_lab(dest, mysql)

# 03: each app server talks to the MySQL on its own machine, and the replica takes writes.
for web, addr in [("web-01", "127.0.1.11"), ("web-02", "127.0.1.12")]:
    edit(os.path.join(ex, "03-read-replica", web, "gunicorn.conf.py"),
         '# Where the foobar app finds its database: writes go to the primary (web-01), reads to the replica (web-02).\n'
         'raw_env = ["DB_PRIMARY=127.0.1.11:3306", "DB_REPLICA=127.0.1.12:3306",',
         f'# Where the foobar app finds its database: the MySQL on this machine.\nraw_env = ["DB_PRIMARY={addr}:3306",')
edit(os.path.join(ex, "03-read-replica", "web-02", "my.cnf"), "read_only     = ON\nsuper_read_only = ON\n", "")
edit(os.path.join(ex, "03-read-replica", "web-02", "my.cnf"),
     "# web-02: the database REPLICA (MySQL syntax). It copies the primary's binary log and serves reads only.",
     "# web-02: the database REPLICA (MySQL syntax). It copies the primary's binary log.")

# 06: monitoring rules that are slow to notice a dead server, and one that pages on every failed check.
os.makedirs(os.path.join(ex, "06-alerts", "monitor"), exist_ok=True)
open(os.path.join(ex, "06-alerts", "monitor", "alerts.yml"), "w").write("""\
# Alert rules for the lab's monitor, in Prometheus's rule-file format (promtool check rules accepts this file).
groups:
  - name: foobar
    rules:
      # Pages as soon as any scrape fails.
      - alert: InstanceDown
        expr: up == 0
        for: 0s
        labels:
          severity: page
        annotations:
          summary: "Instance {{ $labels.instance }} down"
      # The balancer has taken a server out of rotation.
      - alert: BackendServerDown
        expr: haproxy_server_status{state="DOWN"} == 1
        for: 1m
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.proxy }}/{{ $labels.server }} is DOWN on the balancer"
""")
for name in ["06-alerts"]:
    edit(os.path.join(ex, name, "lb-01", "haproxy.cfg"),
         "check inter 2s fall 3 rise 2\n    server web-02 127.0.1.12:8080 check inter 2s fall 3 rise 2",
         "check inter 1s fall 3 rise 2\n    server web-02 127.0.1.12:8080 check inter 1s fall 3 rise 2")
    edit(os.path.join(ex, name, "lb-01", "haproxy.cfg"),
         "# Health checks: every 2 s,", "# Health checks: every second,")
# 01: weights
edit(os.path.join(ex, "01-weights", "lb-01", "haproxy.cfg"), "    # Round robin: each request goes to the next server in turn.\n",
     "    # Round robin: each request goes to the next server in turn. web-02 has twice web-01's CPUs and memory.\n")
print("ok")
