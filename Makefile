# stacklab — the two commands: `make run` and `make test`.
SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test build release bench deps tools clean

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

# libedit is the only C library stacklab needs. Installed with apt-get when we are root; otherwise the exact command.
deps:
	@pkg-config --exists libedit 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing libedit-dev (line editing for the shell)…"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libedit-dev pkg-config >/dev/null; \
	  elif command -v apt-get >/dev/null; then \
	    echo "stacklab needs libedit-dev. Run:  sudo apt-get install -y libedit-dev pkg-config"; exit 1; \
	  elif command -v brew >/dev/null; then \
	    echo "stacklab needs libedit. Run:  brew install libedit"; exit 1; \
	  else echo "stacklab needs libedit (the line-editing library) and pkg-config."; exit 1; fi; }

# The real tools that some tests compare against: haproxy -c, nginx -t, curl, the mariadb client, openssl s_client,
# tmux (the shell in a real terminal), wrk (the benchmark), promtool (Prometheus's checker) and keepalived -t.
# Tests skip what is missing; CI installs everything with this target.
TOOLS := haproxy nginx curl mariadb openssl tmux wrk promtool keepalived
tools:
	@missing=""; for t in $(TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing$$missing…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    haproxy nginx-light curl mariadb-client openssl tmux wrk prometheus keepalived >/dev/null; fi

clean:
	rm -rf .build

# The exercises are edited in exercises/; the installed binary reads the copy in the module's resources.
# (ExerciseCatalogTests fails when the two differ.)
.PHONY: exercises-resources
exercises-resources:
	rm -rf Sources/StackLabExercises/Resources/exercises
	cp -R exercises Sources/StackLabExercises/Resources/exercises
