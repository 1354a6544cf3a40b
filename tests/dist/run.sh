#!/usr/bin/env bash
# Proof that the built packages work on a machine without Rust.
#
#   tests/dist/run.sh               builds what it needs first (./run-dist --ci), then tests
#   tests/dist/run.sh --no-build    tests what is already in dist/ (or in $DIST_DIR)
#
# With cargo and rustc removed from PATH (and DEVICEAUTH_EMULATOR unset, so nothing but the
# packages is used):
#   - Python: a fresh venv that installs only the x86_64 manylinux wheel from dist/python
#     (pip --no-index), timed from `pip install` to a working `import deviceauth`; then
#     `deviceauth-emulator --help`, `python -m deviceauth.emulator --version`, a sign-in flow
#     and a device activation against the packaged emulator through deviceauth.testing, and the
#     pytest fixture `deviceauth_emulator` (pytest itself comes from PyPI into that venv);
#   - Node: a fresh npm project that installs only the main and linux-x64-gnu tarballs from
#     dist/node with --ignore-scripts (--offline: nothing from the registry), then
#     `npx deviceauth-emulator --help`, the same flows through deviceauth/testing (CJS and ESM),
#     and the loader's message when no platform package fits.
# Closes with `N passed, N failed`; exits 1 if any check failed.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
started=$SECONDS
step() { printf '\n==> [%ss] %s\n' "$((SECONDS - started))" "$*"; }

build=1
for arg in "$@"; do
    case "$arg" in
        --no-build) build=0 ;;
        *) echo "usage: tests/dist/run.sh [--no-build]" >&2; exit 2 ;;
    esac
done
if [ "$build" = 1 ]; then
    step "./run-dist --ci"
    "$root/run-dist" --ci || { echo "run-dist failed"; echo "0 passed, 1 failed"; exit 1; }
fi

passed=0 failed=0
record() {   # NAME STATUS
    if [ "$2" = 0 ]; then passed=$((passed + 1)); echo "PASS $1"; else failed=$((failed + 1)); echo "FAIL $1"; fi
}
count_lines() {   # counts the PASS/FAIL lines a flow script printed (file)
    local p f
    p="$(grep -c '^PASS ' "$1")" f="$(grep -c '^FAIL ' "$1")"
    passed=$((passed + p)); failed=$((failed + f))
}
finish() {
    rm -rf "$work"
    echo
    echo "$passed passed, $failed failed"
    [ "$failed" = 0 ]
    exit $?
}

version="$(sed -n '/^\[workspace.package\]/,/^\[/{s/^version *= *"\(.*\)"/\1/p}' "$root/Cargo.toml")"
dist="${DIST_DIR:-$root/dist}"
wheel="$(ls "$dist"/python/deviceauth-"$version"-cp39-abi3-*manylinux_2_17_x86_64.whl 2>/dev/null | head -1)"
main_tgz="$dist/node/deviceauth-$version.tgz"
gnu_tgz="$dist/node/deviceauth-linux-x64-gnu-$version.tgz"
work="$(mktemp -d /tmp/deviceauth-dist-test.XXXXXX)"

# --- no Rust: PATH without any folder holding cargo or rustc -----------------------------
clean_path=""
IFS=: read -r -a dirs <<<"$PATH"
for d in "${dirs[@]}"; do
    [ -n "$d" ] || continue
    if [ -e "$d/cargo" ] || [ -e "$d/rustc" ] || [ -e "$d/rustup" ]; then continue; fi
    clean_path="${clean_path:+$clean_path:}$d"
done
export PATH="$clean_path"
unset DEVICEAUTH_EMULATOR CARGO_TARGET_DIR CARGO_BUILD_TARGET VIRTUAL_ENV PYTHONPATH NODE_PATH
step "environment"
! command -v cargo >/dev/null && ! command -v rustc >/dev/null
record "no cargo and no rustc on PATH" $?
for f in "$wheel" "$main_tgz" "$gnu_tgz"; do
    [ -n "$f" ] && [ -f "$f" ]; record "artifact present: ${f:-the x86_64 manylinux wheel}" $?
done
[ -n "$wheel" ] && [ -f "$main_tgz" ] && [ -f "$gnu_tgz" ] || finish

# --- Python ------------------------------------------------------------------------------
step "Python: fresh venv, only the wheel"
python="${PYTHON:-python3}"
"$python" -m venv "$work/venv"
py="$work/venv/bin/python"
t0="$(date +%s.%N)"
"$py" -m pip install --quiet --disable-pip-version-check --no-index --no-deps "$wheel" \
    && "$py" -c 'import deviceauth; print("deviceauth", deviceauth.__version__, "from", deviceauth.__file__)'
status=$?
t1="$(date +%s.%N)"
record "pip install <wheel> (no index) and import deviceauth" $status
install_seconds="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
echo "     time from pip install <wheel> to a working import: ${install_seconds} s"
extra="$("$py" -m pip list --disable-pip-version-check --format=freeze 2>/dev/null | grep -v -e '^pip==' -e '^setuptools==' -e "^deviceauth==$version\$")"
[ -z "$extra" ] && "$py" -m pip show deviceauth >/dev/null 2>&1
record "the venv holds deviceauth and nothing else${extra:+ (also: $extra)}" $?
ls "$work"/venv/lib/python*/site-packages/deviceauth-"$version".dist-info/licenses/LICENSE-MIT \
   "$work"/venv/lib/python*/site-packages/deviceauth-"$version".dist-info/licenses/LICENSE-APACHE >/dev/null 2>&1
record "wheel carries LICENSE-MIT and LICENSE-APACHE" $?

out="$("$work/venv/bin/deviceauth-emulator" --help 2>&1)"; status=$?
[ $status = 0 ] && grep -q -- '--listen' <<<"$out" && grep -q -- '--approve-after' <<<"$out"
record "deviceauth-emulator --help (console script)" $?
out="$("$py" -m deviceauth.emulator --version 2>&1)"; status=$?
[ $status = 0 ] && grep -q "$version" <<<"$out"
record "python -m deviceauth.emulator --version" $?
"$work/venv/bin/deviceauth-emulator" --no-such-flag >/dev/null 2>&1
[ $? = 2 ]; record "deviceauth-emulator exits 2 on a bad flag" $?

step "Python: sign-in flow and device activation through deviceauth.testing"
(cd "$work" && "$py" "$here/flow.py") 2>&1 | tee "$work/python-flow.log"
count_lines "$work/python-flow.log"
grep -q '^PASS ' "$work/python-flow.log" || record "python flow ran" 1

step "Python: pytest fixture deviceauth_emulator (pytest from PyPI into the same venv)"
if "$py" -m pip install --quiet --disable-pip-version-check "pytest>=8,<10"; then
    cp "$here/test_pytest_fixture.py" "$work/"
    (cd "$work" && "$py" -m pytest -q -p no:cacheprovider test_pytest_fixture.py 2>&1) | tee "$work/pytest.log"
    grep -Eq '^[0-9]+ passed' "$work/pytest.log" && ! grep -Eq 'failed|error' "$work/pytest.log"
    record "pytest plugin: fixture deviceauth_emulator, marker, factory" $?
else
    echo "SKIP pytest is not installable here"
fi

# --- Node --------------------------------------------------------------------------------
step "Node: fresh npm project, only the two tarballs, --ignore-scripts --offline"
app="$work/node-app"
mkdir -p "$app"
(cd "$app" && echo '{"name":"dist-test-app","version":"1.0.0","private":true}' > package.json \
    && npm install --ignore-scripts --offline --no-audit --no-fund --loglevel=error "$main_tgz" "$gnu_tgz" 2>&1 | grep -v nodedir)
[ -f "$app/node_modules/deviceauth/package.json" ] && [ -f "$app/node_modules/deviceauth-linux-x64-gnu/deviceauth.linux-x64-gnu.node" ]
record "npm install main + linux-x64-gnu tarballs (--ignore-scripts --offline)" $?
node -e '
const p = require(process.argv[1]);
const s = p.scripts || {};
if (s.install || s.preinstall || s.postinstall) process.exit(1);
const want = ["deviceauth-linux-x64-gnu", "deviceauth-linux-arm64-gnu", "deviceauth-linux-x64-musl", "deviceauth-linux-arm64-musl"];
for (const n of want) if ((p.optionalDependencies || {})[n] !== p.version) process.exit(1);
' "$app/node_modules/deviceauth/package.json"
record "main package: no install script; optionalDependencies on the 4 Linux packages at its version" $?
ls "$app/node_modules/deviceauth/LICENSE-MIT" "$app/node_modules/deviceauth/LICENSE-APACHE" \
   "$app/node_modules/deviceauth-linux-x64-gnu/LICENSE-MIT" >/dev/null 2>&1
record "tarballs carry the licenses" $?
(cd "$app" && node -e '
const d = require("deviceauth");
if (typeof d.activeconnect.Client !== "function") process.exit(1);
if (!require.resolve("deviceauth-linux-x64-gnu").includes("node_modules")) process.exit(1);
')
record "require(\"deviceauth\") loads the addon from deviceauth-linux-x64-gnu" $?

out="$(cd "$app" && npx --no-install deviceauth-emulator --help 2>&1)"; status=$?
[ $status = 0 ] && grep -q -- '--listen' <<<"$out"
record "npx deviceauth-emulator --help" $?

step "Node: sign-in flow and device activation through deviceauth/testing"
cp "$here/flow.cjs" "$app/"
(cd "$app" && node flow.cjs) 2>&1 | tee "$work/node-flow.log"
count_lines "$work/node-flow.log"
grep -q '^PASS ' "$work/node-flow.log" || record "node flow ran" 1

step "Node: the loader names the missing platform package"
bare="$work/node-bare"
mkdir -p "$bare"
(cd "$bare" && echo '{"name":"dist-test-bare","version":"1.0.0","private":true}' > package.json \
    && npm install --ignore-scripts --offline --no-audit --no-fund --loglevel=error "$main_tgz" 2>&1 | grep -v nodedir)
out="$(cd "$bare" && node -e 'require("deviceauth")' 2>&1)"; status=$?
echo "$out" | grep -v '^\s*at ' | head -5 | sed 's/^/     /'
[ $status != 0 ] && grep -q 'deviceauth-linux-x64-gnu' <<<"$out"
record "without its platform package, require(\"deviceauth\") fails naming deviceauth-linux-x64-gnu" $?

step "summary"
echo "     pip install <wheel> -> working import: ${install_seconds} s"
for f in "$wheel" "$main_tgz" "$gnu_tgz"; do
    printf '     %8s  %s\n' "$(du -h --apparent-size "$f" | cut -f1)" "$(basename "$f")"
done
finish
