#!/usr/bin/env bash
# Try zinfra without an AWS account: build it, start a local moto server, then run
#   zinfra validate, zinfra plan, zinfra apply --auto-approve and zinfra plan --detailed-exitcode
# against it. The second plan must report no changes (exit 0).
#
# Usage: examples/local-emulator.sh [--localstack] [STACK_FILE]     (default: stacks/zenoo-dev.toml)
#
# --localstack: the hybrid LocalStack users need for the whole stack. LocalStack community (host mode,
# installed into $ZINFRA_LOCALSTACK_HOME/venv with Python 3.13, as the tests do) serves KMS, S3, SSM, IAM,
# STS and Route 53; the services its free edition lacks, and those moto's need beside them, go to moto
# through the SDK's per-service endpoint variables (AWS_ENDPOINT_URL_KAFKA and the like, listed in
# MOTO_SERVICES below). The stack is then destroyed too.
#
# Works from any directory. Needs cargo, python3 with the venv module, and PyPI access the first
# time (moto is installed into the same virtualenv the tests use). Environment:
#   CARGO_TARGET_DIR  build directory           (default: $HOME/.cache/zinfra-target)
#   ZINFRA_MOTO_HOME  where the moto venv lives (default: $HOME/.cache/zinfra-moto)
#   PYTHON            python to create the venv (default: python3)
# moto keeps everything in memory: the resources disappear when the script stops the server.
set -euo pipefail

MOTO_VERSION=5.2.5
LOCALSTACK_VERSION=2026.3.0
# Services LocalStack's free edition does not serve (HTTP 501), or not offline (DynamoDB downloads Java
# parts at first use): sent to moto. EC2 and ACM go with them: moto's load balancers, ECS services, Redis
# and MSK check their subnets, VPCs and security groups in moto's EC2, and listeners their certificate in
# moto's ACM. LocalStack keeps KMS, S3, SSM, IAM, STS and Route 53.
MOTO_SERVICES=(EC2 ACM KAFKA ECR ECS ELASTICACHE ELASTIC_LOAD_BALANCING_V2 WAFV2 CLOUDFRONT GUARDDUTY SECURITYHUB DYNAMODB)

localstack=""
if [[ "${1:-}" == "--localstack" ]]; then
    localstack=yes
    shift
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

stack="${1:-$repo/stacks/zenoo-dev.toml}"
if [[ ! -f "$stack" ]]; then
    echo "error: stack file $stack not found" >&2
    exit 1
fi
stack="$(cd "$(dirname "$stack")" && pwd)/$(basename "$stack")"

say() { printf '\n==> %s\n' "$*"; }

# --- Build -----------------------------------------------------------------------------------
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zinfra-target}"
say "Building zinfra (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
(cd "$repo" && cargo build --bin zinfra)
zinfra="$CARGO_TARGET_DIR/debug/zinfra"

# --- moto, in the venv the tests use (tests/support/moto.rs) ---------------------------------
python="${PYTHON:-python3}"
moto_home="${ZINFRA_MOTO_HOME:-$HOME/.cache/zinfra-moto}"
venv="$moto_home/venv"
moto_server="$venv/bin/moto_server"
stamp="$venv/zinfra-moto-$MOTO_VERSION"

install_moto() {
    echo "installing moto $MOTO_VERSION into $venv (once)"
    if ! "$python" -m venv "$venv"; then
        echo "error: could not create a virtualenv with \`$python -m venv\`." >&2
        echo "Install python3 with its venv module (Debian/Ubuntu: apt-get install python3-venv)," >&2
        echo "or point ZINFRA_MOTO_HOME at a directory holding a virtualenv \`venv\` with moto installed." >&2
        exit 1
    fi
    if ! "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" ||
        [[ ! -x "$moto_server" ]]; then
        echo "error: could not install moto $MOTO_VERSION with pip: is PyPI reachable?" >&2
        exit 1
    fi
    printf ok >"$stamp"
}

if [[ -f "$stamp" && -x "$moto_server" ]]; then
    say "Using moto $MOTO_VERSION from $venv"
else
    say "Installing moto $MOTO_VERSION"
    mkdir -p "$moto_home"
    if command -v flock >/dev/null; then
        # The same lock file the tests take, so a test run and this script never install at once.
        exec 9>"$moto_home/install.lock"
        flock 9
    fi
    if [[ ! (-f "$stamp" && -x "$moto_server") ]]; then
        install_moto
    fi
    if command -v flock >/dev/null; then
        flock -u 9
        exec 9>&-
    fi
fi

# --- Start moto on a free loopback port; stop it on exit ------------------------------------
port="$("$venv/bin/python" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()')"
log="$(mktemp "${TMPDIR:-/tmp}/zinfra-moto.XXXXXX.log")"
moto_pid=""
cleanup() {
    if [[ -n "$moto_pid" ]] && kill -0 "$moto_pid" 2>/dev/null; then
        kill "$moto_pid" 2>/dev/null || true
        wait "$moto_pid" 2>/dev/null || true
    fi
    rm -f "$log"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "Starting moto_server (with zinfra's extensions, tests/emulator/) on 127.0.0.1:$port"
# AWS managed policies (e.g. AmazonECSTaskExecutionRolePolicy) exist on AWS; moto loads them only when asked.
MOTO_IAM_LOAD_MANAGED_POLICIES=true MOTO_ACM_VALIDATION_WAIT=0 \
    "$venv/bin/python" "$repo/tests/emulator/server.py" -H 127.0.0.1 -p "$port" </dev/null >"$log" 2>&1 &
moto_pid=$!
ready=""
for _ in $(seq 1 600); do
    if ! kill -0 "$moto_pid" 2>/dev/null; then
        break
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        ready=yes
        break
    fi
    sleep 0.1
done
if [[ -z "$ready" ]]; then
    echo "error: moto_server did not start listening on 127.0.0.1:$port within 60 s. Its log:" >&2
    cat "$log" >&2
    exit 1
fi

# --- Point zinfra at it ----------------------------------------------------------------------
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
if [[ -n "$localstack" ]]; then
    # --- LocalStack, in the venv the tests use (tests/support/localstack.rs) ---------------------
    ls_home="${ZINFRA_LOCALSTACK_HOME:-$HOME/.cache/zinfra-localstack}"
    ls_venv="$ls_home/venv"
    ls_stamp="$ls_venv/zinfra-localstack-$LOCALSTACK_VERSION"
    if [[ ! (-f "$ls_stamp" && -x "$ls_venv/bin/python") ]]; then
        py313="${ZINFRA_PYTHON313:-$(command -v python3.13 || ls -d "$HOME"/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null | sort -V | tail -n 1 || true)}"
        if [[ -z "$py313" ]]; then
            echo "error: LocalStack $LOCALSTACK_VERSION needs Python 3.13 (pyenv install 3.13, or set ZINFRA_PYTHON313)." >&2
            exit 1
        fi
        say "Installing LocalStack $LOCALSTACK_VERSION into $ls_venv"
        mkdir -p "$ls_home"
        exec 8>"$ls_home/install.lock"
        flock 8
        if [[ ! (-f "$ls_stamp" && -x "$ls_venv/bin/python") ]]; then
            "$py313" -m venv "$ls_venv"
            "$ls_venv/bin/pip" install --quiet --disable-pip-version-check \
                "localstack-core[runtime]==$LOCALSTACK_VERSION" 'cbor2<6' 'pyopenssl<26.1'
            printf ok >"$ls_stamp"
        fi
        flock -u 8
        exec 8>&-
    fi
    ls_port="$("$venv/bin/python" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()')"
    ls_root="$(mktemp -d "${TMPDIR:-/tmp}/zinfra-localstack.XXXXXX")"
    say "Starting LocalStack $LOCALSTACK_VERSION (host mode) on 127.0.0.1:$ls_port"
    GATEWAY_LISTEN="127.0.0.1:$ls_port" GATEWAY_SERVER=hypercorn OVERRIDE_IN_DOCKER=0 DNS_ADDRESS=0 \
        FILESYSTEM_ROOT="$ls_root" DISABLE_EVENTS=1 SKIP_SSL_CERT_DOWNLOAD=1 \
        "$ls_venv/bin/python" -m localstack.runtime.main </dev/null >"$ls_root/localstack.log" 2>&1 &
    ls_pid=$!
    stop_localstack() {
        # LocalStack sometimes ignores SIGTERM: wait 10 s, then SIGKILL it and its children.
        kill "$ls_pid" 2>/dev/null || true
        for _ in $(seq 1 20); do kill -0 "$ls_pid" 2>/dev/null || break; sleep 0.5; done
        pkill -KILL -P "$ls_pid" 2>/dev/null || true
        kill -KILL "$ls_pid" 2>/dev/null || true
        rm -rf "$ls_root"
        cleanup
    }
    trap stop_localstack EXIT
    for _ in $(seq 1 600); do
        curl -sf "http://127.0.0.1:$ls_port/_localstack/health" >/dev/null 2>&1 && break
        sleep 0.2
    done
    if ! curl -sf "http://127.0.0.1:$ls_port/_localstack/health" >/dev/null; then
        echo "error: LocalStack did not answer on 127.0.0.1:$ls_port within 120 s. Its log:" >&2
        tail -n 40 "$ls_root/localstack.log" >&2
        exit 1
    fi
    for svc in "${MOTO_SERVICES[@]}"; do
        export "AWS_ENDPOINT_URL_$svc=$AWS_ENDPOINT_URL"
    done
    export AWS_ENDPOINT_URL="http://127.0.0.1:$ls_port"
    say "LocalStack at $AWS_ENDPOINT_URL; moto for ${MOTO_SERVICES[*]}"
fi
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
unset AWS_SESSION_TOKEN AWS_PROFILE
export AWS_EC2_METADATA_DISABLED=true
# The reference stack reads its database password from here (ssm_parameter.db_password).
export ZENOO_DEV_DB_PASSWORD="${ZENOO_DEV_DB_PASSWORD:-local-demo-password}"
export ZENOO_DEV_REDIS_DEFAULT_PASSWORD="${ZENOO_DEV_REDIS_DEFAULT_PASSWORD:-local-demo-default-user-off}"

cd "$repo"
say "zinfra validate $stack"
"$zinfra" validate "$stack"

say "zinfra plan $stack"
"$zinfra" plan "$stack"

say "zinfra apply --auto-approve $stack"
"$zinfra" apply --auto-approve "$stack"

say "zinfra plan --detailed-exitcode $stack (must find nothing to do)"
rc=0
"$zinfra" plan --detailed-exitcode "$stack" || rc=$?
case "$rc" in
0) say "Done: live state (at $AWS_ENDPOINT_URL) matches $stack." ;;
2)
    echo "error: the plan after apply still has changes: zinfra did not converge" >&2
    exit 1
    ;;
*)
    echo "error: the plan after apply failed (exit $rc)" >&2
    exit "$rc"
    ;;
esac

if [[ -n "$localstack" ]]; then
    say "zinfra destroy --auto-approve $stack"
    "$zinfra" destroy --auto-approve "$stack"
fi
say "Stopping the emulators."
