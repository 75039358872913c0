#!/usr/bin/env bash
# Install a zinfra release for this runner and put it on PATH (step 1 of /action.yml).
#
# The binary is taken from ZINFRA_INSTALL_DIR when an earlier job left it there (actions/cache
# restores that directory), and checked against the checksum recorded when it was installed. Otherwise
# the release archive and its SHA256SUMS are downloaded, the archive is verified against them, and
# only then unpacked. Anything that does not match stops the job: nothing unverified ever runs.
#
# Environment:
#   ZINFRA_VERSION      a release tag, e.g. v0.2.0 (required)
#   ZINFRA_INSTALL_DIR  where installed versions live (the cached directory; required)
#   ZINFRA_RELEASES     base URL of the releases: <base>/<tag>/<asset> (default: GitHub releases of
#                       ZINFRA_REPOSITORY); file:// works, which is how the tests run it offline
#   ZINFRA_REPOSITORY   owner/name of the repository that publishes the releases
#   RUNNER_OS, RUNNER_ARCH, GITHUB_PATH, GITHUB_OUTPUT   set by GitHub Actions
set -euo pipefail

fail() {
    echo "::error title=zinfra install::$*" >&2
    exit 1
}

version="${ZINFRA_VERSION:-}"
[[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] ||
    fail "version must be a release tag such as v0.2.0, got '${version}'"
[[ "${RUNNER_OS:-Linux}" == Linux ]] || fail "zinfra releases are Linux binaries; this runner is ${RUNNER_OS}"
case "${RUNNER_ARCH:-$(uname -m)}" in
X64 | x86_64 | amd64) target=x86_64-unknown-linux-musl ;;
ARM64 | aarch64 | arm64) target=aarch64-unknown-linux-musl ;;
*) fail "no zinfra release for the runner architecture ${RUNNER_ARCH:-$(uname -m)}" ;;
esac
root="${ZINFRA_INSTALL_DIR:?ZINFRA_INSTALL_DIR is not set}"
dir="$root/$version/$target"
asset="zinfra-$target.tar.gz"

cached=false
if [[ -x "$dir/zinfra" && -f "$dir/zinfra.sha256" ]]; then
    (cd "$dir" && sha256sum --quiet --check zinfra.sha256) ||
        fail "the cached zinfra in $dir does not match the checksum recorded when it was installed"
    cached=true
else
    base="${ZINFRA_RELEASES:-https://github.com/${ZINFRA_REPOSITORY:?ZINFRA_REPOSITORY is not set}/releases/download}"
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    for f in "$asset" SHA256SUMS; do
        curl --fail --silent --show-error --location --retry 3 --output "$tmp/$f" "$base/$version/$f" ||
            fail "could not download $base/$version/$f"
    done
    expected="$(awk -v a="$asset" '$2 == a || $2 == "*" a { print $1 }' "$tmp/SHA256SUMS")"
    [[ -n "$expected" ]] || fail "SHA256SUMS of $version has no line for $asset"
    actual="$(sha256sum "$tmp/$asset" | cut -d ' ' -f 1)"
    [[ "$expected" == "$actual" ]] ||
        fail "checksum mismatch for $asset of $version: SHA256SUMS says $expected, the download is $actual"
    mkdir -p "$tmp/unpacked"
    tar -xzf "$tmp/$asset" -C "$tmp/unpacked"
    [[ -x "$tmp/unpacked/zinfra" ]] || fail "$asset has no executable zinfra at its top"
    mkdir -p "$dir"
    mv "$tmp/unpacked/zinfra" "$dir/zinfra"
    (cd "$dir" && sha256sum zinfra >zinfra.sha256)
fi

"$dir/zinfra" --version >/dev/null || fail "$dir/zinfra does not run on this runner"
echo "zinfra $version ($target) $([[ $cached == true ]] && echo "from the cache" || echo "downloaded and verified") in $dir"
if [[ -n "${GITHUB_PATH:-}" ]]; then echo "$dir" >>"$GITHUB_PATH"; fi
if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
    {
        echo "path=$dir/zinfra"
        echo "cached=$cached"
    } >>"$GITHUB_OUTPUT"
fi
