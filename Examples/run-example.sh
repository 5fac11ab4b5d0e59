#!/usr/bin/env bash
# Builds and runs Examples/SampleFromModel against this checkout as a *versioned*
# dependency, the way another package depends on GomalizingFlow: the checkout's
# package files (tracked and untracked, not ignored) are committed to a scratch
# git repository tagged with the library's version, and the example resolves it by
# a file:// URL with `from:`. SwiftPM refuses unsafe build flags in such a
# dependency, so this is also the check that the library has none. The snippets
# of the DocC article GettingStarted.md are compiled beside it as a second
# program (not run: they train example2d for 20 epochs).
#   Examples/run-example.sh [arguments of SampleFromModel]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version="$(sed -n 's/^ *public static let version = "\([0-9.]*\)".*/\1/p' "$root/Sources/GomalizingFlow/Util/Provenance.swift")"
[ -n "$version" ] || { echo "run-example.sh: no version in Sources/GomalizingFlow/Util/Provenance.swift" >&2; exit 1; }
work="$(mktemp -d)"
# EXAMPLE_KEEP=1 keeps the build (for timing the binary again); its folder is printed.
if [ -n "${EXAMPLE_KEEP:-}" ]; then echo "run-example.sh: building in $work"; else trap 'rm -rf "$work"' EXIT; fi
repo="$work/GomalizingFlow"
mkdir -p "$repo"
# The package's files only (not the studies' data), tracked or new.
(cd "$root" && git ls-files -z --cached --others --exclude-standard -- Package.swift Sources Plugins Tests cfgs \
    README.md 'LICENSE*' | while IFS= read -r -d '' f; do
    if [ -e "$f" ]; then printf '%s\0' "$f"; fi
done | tar --null -T - -cf -) | tar -xf - -C "$repo"
git -C "$repo" init -q
git -C "$repo" add -A
git -C "$repo" -c user.name=example -c user.email=example@localhost -c commit.gpgsign=false -c core.hooksPath=/dev/null \
    commit -q -m "GomalizingFlow $version"
git -C "$repo" tag "$version"
cp -R "$root/Examples/SampleFromModel" "$work/SampleFromModel"
rm -rf "$work/SampleFromModel/.build" "$work/SampleFromModel/Sources/GettingStarted"
mkdir -p "$work/SampleFromModel/Sources/GettingStarted"
python3 "$root/Examples/getting-started-program.py" "$root/Sources/GomalizingRun/GomalizingRun.docc/GettingStarted.md" \
    "$work/SampleFromModel/Sources/GettingStarted/GettingStarted.swift"
cd "$work/SampleFromModel"
export GOMALIZING_FLOW_URL="file://$repo" GOMALIZING_FLOW_VERSION="$version"
swift build -c release
swift run -c release --skip-build SampleFromModel "$@"
