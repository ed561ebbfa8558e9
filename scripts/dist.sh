#!/usr/bin/env bash
# make dist: one stacklab binary with the Swift runtime and Foundation linked in, its man page and shell completions,
# as dist/stacklab-VERSION-linux-x86_64.tar.gz and dist/stacklab_VERSION_amd64.deb. Linux (Debian) only.
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT=${SWIFT:-swift}
SCRATCH=${DIST_SCRATCH:-.build-dist}     # its own build folder: the static link does not replace `make run`'s binary
# release; DIST_CONFIGURATION=debug DIST_SCRATCH=.build tries the packaging in minutes (a slow binary, never shipped).
CONFIGURATION=${DIST_CONFIGURATION:-release}
OUT=${DIST_OUT:-dist}
VERSION=$(tr -d '[:space:]' < VERSION)
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
case "$ARCH" in amd64) MACHINE=x86_64 ;; arm64) MACHINE=aarch64 ;; *) MACHINE=$ARCH ;; esac
# The package's maintainer: DEB_MAINTAINER, or whoever made the last commit.
MAINTAINER=${DEB_MAINTAINER:-$(git log -1 --format='%an <%ae>' 2>/dev/null || true)}
[ -n "$MAINTAINER" ] || { echo "dist: set DEB_MAINTAINER='Name <email>' for the package"; exit 1; }
# The man page's date: the last commit's, so the same sources give the same page.
DATE=$(git log -1 --format=%cs 2>/dev/null || date -u +%F)

need() { command -v "$1" >/dev/null || { echo "dist: needs $1 ($2)"; exit 1; }; }
need dpkg-deb "apt-get install dpkg"
need dpkg-shlibdeps "apt-get install dpkg-dev"
need objdump "apt-get install binutils"

echo "Building the $CONFIGURATION binary (Swift runtime and Foundation linked statically)…"
BUILD=("$SWIFT" build -c "$CONFIGURATION" --static-swift-stdlib --scratch-path "$SCRATCH")
"${BUILD[@]}" --product stacklab
BIN="$("${BUILD[@]}" --show-bin-path)/stacklab"

# What the binary still loads from the system: Debian's libraries, never a Swift one.
NEEDED=$(objdump -p "$BIN" | awk '/NEEDED/ { print $2 }')
if grep -Ei 'swift|foundation|dispatch|blocksruntime|icu' <<<"$NEEDED"; then
    echo "dist: $BIN still needs the Swift libraries above at run time"; exit 1
fi

# swift-argument-parser's generate-manual, as its plugin builds it (a debug tool in .build; asking the plugin for its
# help builds the tool and nothing else).
echo "Building generate-manual…"
"$SWIFT" package plugin generate-manual --help >/dev/null
GENERATE_MANUAL=$(find .build -path '*/debug/generate-manual-tool' -type f -perm -u+x | head -n 1)
[ -x "$GENERATE_MANUAL" ] || { echo "dist: generate-manual was not built"; exit 1; }

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/bin" "$STAGE/man" "$STAGE/verbs" "$STAGE/complete"
strip --strip-unneeded -o "$STAGE/bin/stacklab" "$BIN"

echo "Writing the man page and the completions…"
# The command line's page, then the shell's verbs (from their own declarations) as SHELL COMMANDS before EXIT STATUS.
"$GENERATE_MANUAL" "$STAGE/bin/stacklab" --date "$DATE" --section 1 --output-directory "$STAGE/man"
printf '#!/bin/sh\nSTACKLAB_MANUAL=shell-verbs exec "%s" "$@"\n' "$STAGE/bin/stacklab" > "$STAGE/verbs/stacklab-shell"
chmod +x "$STAGE/verbs/stacklab-shell"
"$GENERATE_MANUAL" "$STAGE/verbs/stacklab-shell" --date "$DATE" --section 1 --output-directory "$STAGE/verbs"
# The verbs' DESCRIPTION, without the -h/--help item each verb gets (the shell has `help VERB`) and lists left empty.
awk '/^\.Sh /{ keep = ($0 == ".Sh DESCRIPTION"); next }
    !keep { next }
    $0 == ".It Fl h , -help" { skip = 1; next }
    skip { skip = 0; if ($0 == "Show help information.") next }
    { lines[n++] = $0 }
    END { for (i = 0; i < n; i++) { if (lines[i] ~ /^\.Bl / && lines[i + 1] == ".El") { i++; continue }; print lines[i] } }' \
    "$STAGE/verbs/stacklab-shell.1" > "$STAGE/verbs/section"
# Spliced in before EXIT STATUS. generate-manual leaves blank lines in discussions (a paragraph break in mdoc is .Pp)
# and text lines that start with ' or . (roff reads them as requests: \& in front keeps them text).
awk -v section="$STAGE/verbs/section" '
    $0 == ".Sh \"EXIT STATUS\"" || $0 == ".Sh EXIT STATUS" {
        print ".Sh \"SHELL COMMANDS\""; while ((getline line < section) > 0) print line
    }
    { print }' "$STAGE/man/stacklab.1" |
    awk 'NF == 0 { print ".Pp"; next } /^'"'"'/ || /^\.[^A-Z]/ { print "\\&" $0; next } { print }' > "$STAGE/stacklab.1"
grep -q '^\.Sh "SHELL COMMANDS"' "$STAGE/stacklab.1" || { echo "dist: the man page has no SHELL COMMANDS section"; exit 1; }

# bash sources its completions: no #! line (lintian: bash-completion-with-hashbang).
"$STAGE/bin/stacklab" --generate-completion-script bash | sed '1{/^#!/d}' > "$STAGE/complete/stacklab.bash"
"$STAGE/bin/stacklab" --generate-completion-script zsh > "$STAGE/complete/_stacklab"
"$STAGE/bin/stacklab" --generate-completion-script fish > "$STAGE/complete/stacklab.fish"

mkdir -p "$OUT"

# The tarball: everything at the top of one folder.
NAME="stacklab-$VERSION-linux-$MACHINE"
T="$STAGE/tar/$NAME"
mkdir -p "$T/complete"
install -m 755 "$STAGE/bin/stacklab" "$T/stacklab"
install -m 644 "$STAGE/stacklab.1" "$T/stacklab.1"
install -m 644 "$STAGE/complete/"* "$T/complete/"
install -m 644 README.md LICENSE "$T/"
tar -C "$STAGE/tar" --owner=0 --group=0 --numeric-owner --sort=name --mtime="$DATE" -czf "$OUT/$NAME.tar.gz" "$NAME"

# The Debian package: Debian's places for each file; Depends from the libraries the binary needs.
R="$STAGE/deb"
install -D -m 755 "$STAGE/bin/stacklab" "$R/usr/bin/stacklab"
install -D -m 644 "$STAGE/stacklab.1" "$R/usr/share/man/man1/stacklab.1"
gzip -9n "$R/usr/share/man/man1/stacklab.1"
install -D -m 644 "$STAGE/complete/stacklab.bash" "$R/usr/share/bash-completion/completions/stacklab"
install -D -m 644 "$STAGE/complete/_stacklab" "$R/usr/share/zsh/vendor-completions/_stacklab"
install -D -m 644 "$STAGE/complete/stacklab.fish" "$R/usr/share/fish/vendor_completions.d/stacklab.fish"
install -d -m 755 "$R/usr/share/doc/stacklab"
{
    echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
    echo "Upstream-Name: stacklab"
    echo
    echo "Files: *"
    echo "Copyright: $(sed -n 's/^Copyright (c) //p' LICENSE)"
    echo "License: MIT"
    sed -n '/^Permission/,$p' LICENSE | sed 's/^$/./; s/^/ /'
} > "$R/usr/share/doc/stacklab/copyright"
printf 'stacklab (%s) unstable; urgency=medium\n\n  * Release %s.\n\n -- %s  %s\n' \
    "$VERSION" "$VERSION" "$MAINTAINER" "$(date -u -d "$DATE" -R)" | gzip -9n > "$R/usr/share/doc/stacklab/changelog.gz"

# Yams (the labs' YAML files) compiles its own copy of libyaml into the binary; Debian's libyaml cannot stand in.
install -D -m 644 /dev/stdin "$R/usr/share/lintian/overrides/stacklab" <<'OVERRIDES'
# Yams, the YAML parser of the monitor's rule files, builds libyaml's C sources into the binary.
stacklab: embedded-library libyaml [usr/bin/stacklab]
OVERRIDES

# dpkg-shlibdeps reads a debian/control; it is given a minimal one.
mkdir -p "$STAGE/shlibs/debian"
printf 'Source: stacklab\n\nPackage: stacklab\nArchitecture: any\n' > "$STAGE/shlibs/debian/control"
DEPENDS=$(cd "$STAGE/shlibs" && dpkg-shlibdeps -O "$R/usr/bin/stacklab" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$DEPENDS" ] || { echo "dist: dpkg-shlibdeps found no dependencies for the binary"; exit 1; }

mkdir -p "$R/DEBIAN"
cat > "$R/DEBIAN/control" <<CONTROL
Package: stacklab
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $(du -sk --exclude=DEBIAN "$R" | cut -f1)
Depends: $DEPENDS
Section: education
Priority: optional
Description: working miniature of a three-server web stack, to learn by breaking it
 stacklab runs the classic three-server design for www.foobar.com on the
 loopback addresses: an HAProxy-like load balancer in front of two servers, each
 with an nginx-like web server, a gunicorn-like app server and a MySQL-like
 database (primary and replica). Every hop is a real socket speaking the real
 protocol, so curl, wrk, a browser and the mysql client work against it.
 .
 A shell drives it: send requests, kill a process or a server, cut the network,
 and watch what happens. Guided lessons and graded exercises come built in.
CONTROL
(cd "$R" && find usr -type f -print0 | sort -z | xargs -0 md5sum) > "$R/DEBIAN/md5sums"
chmod 644 "$R/DEBIAN/control" "$R/DEBIAN/md5sums"
DEB="$OUT/stacklab_${VERSION}_$ARCH.deb"
SOURCE_DATE_EPOCH=$(date -u -d "$DATE" +%s) dpkg-deb --root-owner-group -Zxz --build "$R" "$DEB" >/dev/null

echo "Wrote:"
ls -l "$OUT/$NAME.tar.gz" "$DEB" | awk '{ print "  " $NF "  (" $5 " bytes)" }'
echo "  binary: $(stat -c %s "$STAGE/bin/stacklab") bytes; Depends: $DEPENDS"
