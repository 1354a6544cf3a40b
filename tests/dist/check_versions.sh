#!/usr/bin/env bash
# One version for every package: the workspace version (Cargo.toml [workspace.package]) must
# be the version of the Rust crates, the Python package, the npm package and each npm
# platform package, and CHANGELOG.md must have a section for it (or only Unreleased above it).
# Prints one PASS/FAIL line per check and `N passed, N failed`; exits 1 on any failure.
#
#   tests/dist/check_versions.sh
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
passed=0 failed=0
check() {   # NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then passed=$((passed + 1)); echo "PASS $1: $3"
    else failed=$((failed + 1)); echo "FAIL $1: expected ${2:-(none)}, found ${3:-(none)}"; fi
}

workspace="$(sed -n '/^\[workspace.package\]/,/^\[/{s/^version *= *"\(.*\)"/\1/p}' Cargo.toml)"
echo "workspace version: ${workspace:-(none)}"
[ -n "$workspace" ]; check "Cargo.toml has a [workspace.package] version (0 = yes)" 0 $?

crate_version() {   # the version a member crate gets: its own, or the workspace's
    local manifest="$1"
    if grep -Eq '^version\.workspace *= *true|^version *= *\{ *workspace *= *true *\}' "$manifest"; then
        echo "$workspace"
    else
        sed -n '/^\[package\]/,/^\[/{s/^version *= *"\(.*\)"/\1/p}' "$manifest"
    fi
}
for manifest in core/Cargo.toml tests/emulator/Cargo.toml bindings-python/Cargo.toml bindings-node/Cargo.toml; do
    [ -f "$manifest" ] && check "crate version ($manifest)" "$workspace" "$(crate_version "$manifest")"
done
# Cargo.lock must agree (a stale lock would package another version)
for crate in deviceauth deviceauth-emulator deviceauth-python deviceauth-node; do
    lock="$(awk -v n="$crate" '$0 == "name = \"" n "\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
    check "Cargo.lock $crate" "$workspace" "$lock"
done

# Python: maturin takes the version from Cargo.toml when pyproject says dynamic = ["version"]
py_static="$(sed -n '/^\[project\]/,/^\[/{s/^version *= *"\(.*\)"/\1/p}' bindings-python/pyproject.toml)"
if [ -n "$py_static" ]; then
    check "bindings-python/pyproject.toml version" "$workspace" "$py_static"
else
    grep -Eq '^dynamic *= *\[.*"version"' bindings-python/pyproject.toml
    check "bindings-python/pyproject.toml takes the version from Cargo.toml (dynamic)" 0 $?
fi

json_field() { node -p "require('./$1').$2" 2>/dev/null; }
check "bindings-node/package.json version" "$workspace" "$(json_field bindings-node/package.json version)"
if [ -f bindings-node/package-lock.json ]; then
    check "bindings-node/package-lock.json version" "$workspace" "$(json_field bindings-node/package-lock.json version)"
fi
for tpl in bindings-node/npm/*/package.json; do
    check "$(dirname "$tpl") version" "$workspace" "$(json_field "$tpl" version)"
    for dep in $(node -p "Object.keys(require('./bindings-node/package.json').optionalDependencies || {}).join(' ')"); do
        [ "$dep" = "$(json_field "$tpl" name)" ] && \
            check "bindings-node/package.json optionalDependencies.$dep" "$workspace" "$(node -p "require('./bindings-node/package.json').optionalDependencies['$dep']")"
    done
done
# the generated loader pins the platform packages' version
if [ -f bindings-node/native.js ]; then
    pinned="$(grep -o "bindingPackageVersion !== '[^']*'" bindings-node/native.js | sed "s/.*'\(.*\)'/\1/" | sort -u | tr '\n' ' ' | sed 's/ $//')"
    check "bindings-node/native.js pins the platform packages at" "$workspace" "$pinned"
fi

if [ -f CHANGELOG.md ]; then
    grep -Eq "^## \[$workspace\]" CHANGELOG.md
    check "CHANGELOG.md has a section [$workspace]" 0 $?
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
