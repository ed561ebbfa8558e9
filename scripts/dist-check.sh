#!/usr/bin/env bash
# make dist-check: installs the .deb that `make dist` wrote into a scratch root and runs the installed stacklab with
# no Swift toolchain reachable; checks the tarball, the completions, the man page, and the package with lintian.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${DIST_OUT:-dist}
VERSION=$(tr -d '[:space:]' < VERSION)
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
case "$ARCH" in amd64) MACHINE=x86_64 ;; arm64) MACHINE=aarch64 ;; *) MACHINE=$ARCH ;; esac
DEB="$OUT/stacklab_${VERSION}_$ARCH.deb"
TAR="$OUT/stacklab-$VERSION-linux-$MACHINE.tar.gz"
for f in "$DEB" "$TAR"; do [ -f "$f" ] || { echo "dist-check: no $f (make dist writes it)"; exit 1; }; done

SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
fail() { echo "dist-check: FAILED: $*"; exit 1; }
ok() { echo "  ok  $*"; }

echo "Installing $DEB into $SCRATCH/root…"
dpkg -x "$DEB" "$SCRATCH/root"
for lib in libedit2 libsqlite3-0; do
    dpkg-deb -f "$DEB" Depends | grep -q "$lib" || fail "Depends does not name $lib: $(dpkg-deb -f "$DEB" Depends)"
done
for f in usr/bin/stacklab usr/share/man/man1/stacklab.1.gz usr/share/bash-completion/completions/stacklab \
         usr/share/zsh/vendor-completions/_stacklab usr/share/fish/vendor_completions.d/stacklab.fish \
         usr/share/doc/stacklab/copyright; do
    [ -f "$SCRATCH/root/$f" ] || fail "the package has no /$f"
done
ok "the package holds the binary, the man page, three completions and the copyright"
BIN="$SCRATCH/root/usr/bin/stacklab"

# The toolchain's libraries (and the rest of it) hidden: an empty folder mounted over it in a private mount
# namespace. Where that is not allowed, the loader's view of the binary and an empty LD_LIBRARY_PATH stand in.
TOOLCHAIN=$(command -v swift >/dev/null && dirname "$(dirname "$(readlink -f "$(command -v swift)")")" || true)
if ldd "$BIN" | grep -Ei 'libswift|libFoundation|libdispatch|libBlocksRuntime|not found'; then
    fail "the installed binary needs the libraries above"
fi
ok "ldd: no Swift library, nothing missing"
mkdir -p "$SCRATCH/empty" "$SCRATCH/home"
HIDE=""
if [ -n "$TOOLCHAIN" ] && unshare -m true 2>/dev/null; then
    HIDE="mount --make-rprivate / && mount --bind $SCRATCH/empty $TOOLCHAIN &&"
    echo "Running the installed binary with $TOOLCHAIN hidden (private mount namespace)…"
else
    echo "Running the installed binary with LD_LIBRARY_PATH empty (no private mount namespace here)…"
fi
# installed CMD…: runs CMD with only the scratch root's bin on PATH, a fresh HOME, the toolchain out of sight.
installed() {
    local run="cd $SCRATCH/home && $(printf '%q ' "$@")"
    if [ -n "$HIDE" ]; then
        env -i HOME="$SCRATCH/home" PATH="$SCRATCH/root/usr/bin:/usr/bin:/bin" LD_LIBRARY_PATH= TERM=dumb \
            unshare -m sh -c "$HIDE ! command -v swift >/dev/null && [ -z \"\$(ls -A $TOOLCHAIN)\" ] && $run"
    else
        env -i HOME="$SCRATCH/home" PATH="$SCRATCH/root/usr/bin:/usr/bin:/bin" LD_LIBRARY_PATH= TERM=dumb sh -c "$run"
    fi
}

[ "$(installed stacklab --version)" = "$VERSION" ] || fail "stacklab --version does not print $VERSION"
ok "stacklab --version: $VERSION"

# A port base of its own, so a lab someone runs on the usual ports does not stand in the way.
BASE=$(( 20000 + ($$ % 50) * 200 ))
out=$(installed stacklab --port-base "$BASE" -c "status; curl /") || fail "stacklab -c \"status; curl /\" failed:
$out"
grep -q 'web-01' <<<"$out" && grep -qi 'foobar' <<<"$out" || fail "status; curl / printed no status or page:
$out"
ok "stacklab -c \"status; curl /\" from the installed copy (built-in lab, lessons and exercises from the binary)"

installed stacklab -c "exercise 1" >/dev/null || fail "stacklab -c \"exercise 1\" failed"
set +e
out=$(installed stacklab grade 1 2>&1); status=$?
set -e
# The starter is unsolved: every check runs and the grade is not a pass (exit 1); anything else is a failure.
[ "$status" = 1 ] && grep -q '^Exercise 1: ' <<<"$out" && grep -Eq '[0-9]+/[0-9]+' <<<"$out" \
    || fail "stacklab grade 1 on the starter (exit $status):
$out"
ok "stacklab grade 1 on the starter: $(grep -Eo '[0-9]+/[0-9]+' <<<"$out" | tail -n 1), exit 1 (not yet solved)"

echo "Completions and the man page…"
bash -c "source $SCRATCH/root/usr/share/bash-completion/completions/stacklab && complete -p stacklab" >/dev/null \
    || fail "the bash completion does not load"
ok "bash: $(bash -c "source $SCRATCH/root/usr/share/bash-completion/completions/stacklab && complete -p stacklab")"
if command -v zsh >/dev/null; then zsh -n "$SCRATCH/root/usr/share/zsh/vendor-completions/_stacklab" || fail "zsh completion"; ok "zsh -n"; fi
if command -v fish >/dev/null; then fish -n "$SCRATCH/root/usr/share/fish/vendor_completions.d/stacklab.fish" || fail "fish completion"; ok "fish -n"; fi
warnings=$(MANWIDTH=80 man --warnings -l "$SCRATCH/root/usr/share/man/man1/stacklab.1.gz" 2>&1 >"$SCRATCH/man.txt") \
    || fail "man -l cannot render the page: $warnings"
[ -z "$warnings" ] || fail "man -l warns: $warnings"
grep -q 'SHELL COMMANDS' "$SCRATCH/man.txt" && grep -q 'replication' "$SCRATCH/man.txt" \
    || fail "the man page has no SHELL COMMANDS section with the verbs"
ok "man -l renders $(wc -l < "$SCRATCH/man.txt") lines, with the shell's commands"

echo "The tarball…"
tar -C "$SCRATCH" -xzf "$TAR"
T="$SCRATCH/stacklab-$VERSION-linux-$MACHINE"
for f in stacklab stacklab.1 complete/stacklab.bash complete/_stacklab complete/stacklab.fish README.md LICENSE; do
    [ -f "$T/$f" ] || fail "the tarball has no $f"
done
[ "$(installed "$T/stacklab" --version)" = "$VERSION" ] || fail "the tarball's stacklab --version"
ok "the tarball holds the binary, the man page, the completions, README and LICENSE; its binary runs"

if command -v lintian >/dev/null; then
    echo "lintian…"
    report=$(lintian --tag-display-limit 0 "$DEB" 2>&1 || true)
    [ -z "$report" ] || echo "$report" | sed 's/^/  /'
    if grep -q '^E:' <<<"$report"; then fail "lintian reports errors"; fi
    ok "lintian: no errors ($(grep -c '^W:' <<<"$report" || true) warnings)"
else
    echo "  (lintian is not installed: apt-get install lintian)"
fi
echo "dist-check: passed"
