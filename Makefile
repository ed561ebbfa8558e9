# stacklab — the two commands: `make run` and `make test`.
SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test build release bench deps tools clean dist dist-check dist-tools

run: deps
	$(SWIFT) build -c release --product stacklab
	.build/release/stacklab

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product stacklab

bench: deps
	$(SWIFT) build -c release --product stacklab-bench
	.build/release/stacklab-bench

# The C libraries stacklab needs: libedit (the shell's line editing) and SQLite (the store's engine). Installed with
# apt-get when we are root; otherwise the exact command.
deps:
	@pkg-config --exists libedit sqlite3 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing libedit-dev and libsqlite3-dev (line editing for the shell, the store's engine)…"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libedit-dev libsqlite3-dev pkg-config >/dev/null; \
	  elif command -v apt-get >/dev/null; then \
	    echo "stacklab needs libedit-dev and libsqlite3-dev. Run:  sudo apt-get install -y libedit-dev libsqlite3-dev pkg-config"; exit 1; \
	  elif command -v brew >/dev/null; then \
	    echo "stacklab needs libedit and sqlite. Run:  brew install libedit sqlite"; exit 1; \
	  else echo "stacklab needs libedit (the line-editing library), SQLite and pkg-config."; exit 1; fi; }

# The real tools that some tests compare against: haproxy -c, nginx -t, curl, the mariadb client and server, openssl
# s_client, tmux (the shell in a real terminal), wrk (the benchmark), promtool (Prometheus's checker), keepalived -t,
# and from PyPI gunicorn and the MySQL client libraries (PyMySQL, mysql-connector-python, SQLAlchemy).
# Tests skip what is missing; CI installs everything with this target.
TOOLS := haproxy nginx curl mariadb mariadbd openssl tmux wrk promtool keepalived nmap prometheus-nginx-exporter
PYTHON_TOOLS := gunicorn pymysql mysql.connector sqlalchemy
tools:
	@missing=""; for t in $(TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing$$missing…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    haproxy nginx-light curl mariadb-client mariadb-server openssl tmux wrk prometheus keepalived nmap \
	    prometheus-nginx-exporter >/dev/null; fi
	@for m in $(PYTHON_TOOLS); do python3 -c "import $$m" 2>/dev/null || missing=1; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing gunicorn PyMySQL mysql-connector-python SQLAlchemy…"; \
	  python3 -m pip install -q gunicorn PyMySQL mysql-connector-python SQLAlchemy; fi

clean:
	rm -rf .build .build-dist dist

# A class installs stacklab without Swift: one static binary (the Swift runtime, Foundation, the labs, lessons and
# exercises inside it), its man page and completions, as dist/stacklab-VERSION-linux-x86_64.tar.gz and
# dist/stacklab_VERSION_amd64.deb. The version is the VERSION file. A release build in .build-dist (long the first time).
dist: deps dist-tools
	scripts/dist.sh

# Installs the .deb into a scratch root and runs it with the Swift toolchain hidden: --version, a lab, a grade; the
# completions load, the man page renders, lintian finds no error. CI runs it after make test.
dist-check: dist
	scripts/dist-check.sh

# What make dist and dist-check use: dpkg-dev (dpkg-shlibdeps), lintian, man, bash; installed with apt-get as root.
DIST_TOOLS := dpkg-shlibdeps lintian man objdump
dist-tools:
	@missing=""; for t in $(DIST_TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing$$missing…"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	      dpkg-dev lintian man-db binutils >/dev/null; \
	  else echo "make dist needs$$missing. Run:  sudo apt-get install -y dpkg-dev lintian man-db binutils"; exit 1; fi; fi

# The fuzz tests for minutes instead of seconds, from a new seed (printed) unless STACKLAB_FUZZ_SEED is set:
# STACKLAB_FUZZ_SEED=N make fuzz replays a run. FUZZ_SECONDS is per test.
FUZZ_SECONDS ?= 120
.PHONY: fuzz
fuzz: deps
	$(SWIFT) build --build-tests
	@seed=$${STACKLAB_FUZZ_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
	echo "fuzz seed $$seed (replay: STACKLAB_FUZZ_SEED=$$seed make fuzz)"; \
	STACKLAB_FUZZ_SEED=$$seed STACKLAB_FUZZ_SECONDS=$(FUZZ_SECONDS) $(SWIFT) test --skip-build --filter StackLabFuzzTests

# Every lesson played as a learner in a real terminal (tmux, 80×24): each step's commands once, and again with a
# wrong command first — about 6 minutes. make test plays lessons 1 and 6 of it; LESSONS=3,5 plays those.
LESSONS ?= all
.PHONY: lessons-in-terminal
lessons-in-terminal: deps
	$(SWIFT) build --build-tests
	STACKLAB_LESSONS_IN_TERMINAL=$(LESSONS) $(SWIFT) test --skip-build --filter LessonsInTerminalTests
