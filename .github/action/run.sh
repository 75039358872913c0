#!/usr/bin/env bash
# Run one zinfra command for /action.yml (step 2): its Markdown goes to the step summary and to a file
# the comment step posts; its exit code becomes the step output `exitcode`.
#
# `plan` runs with --detailed-exitcode: 0 no changes, 2 changes (output `changes=true`; the step still
# succeeds), 1 an error (the step fails). Every other command exits as zinfra does (see docs: exit codes).
#
# Environment:
#   ZINFRA          the binary (default: zinfra on PATH)
#   INPUT_COMMAND   validate | check | plan | apply | destroy | output (default plan)
#   INPUT_STACK     the stack file (or a saved plan, for apply)
#   INPUT_ARGS      more arguments, split on whitespace (e.g. "--var image_tag=abc123 --out plan.zplan")
#   RUNNER_TEMP, GITHUB_STEP_SUMMARY, GITHUB_OUTPUT   set by GitHub Actions
set -euo pipefail

fail() {
    echo "::error title=zinfra::$*" >&2
    exit 1
}

zinfra="${ZINFRA:-zinfra}"
command="${INPUT_COMMAND:-plan}"
case "$command" in
validate | check | plan | apply | destroy | output) ;;
*) fail "command must be one of validate, check, plan, apply, destroy, output; got '$command'" ;;
esac
stack="${INPUT_STACK:-}"
[[ -n "$stack" ]] || fail "the stack input is required"
read -r -a extra <<<"${INPUT_ARGS:-}"

args=("$command" "$stack")
[[ "$command" == plan ]] && args+=(--detailed-exitcode)
body="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/zinfra-$command-$$.md"
: >"$body"

set +e
"$zinfra" --summary "$body" "${args[@]}" ${extra[@]+"${extra[@]}"}
code=$?
set -e

if [[ -n "${GITHUB_STEP_SUMMARY:-}" && -s "$body" ]]; then cat "$body" >>"$GITHUB_STEP_SUMMARY"; fi
changes=false
if [[ "$command" == plan && "$code" == 2 ]]; then changes=true; fi
if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
    {
        echo "exitcode=$code"
        echo "changes=$changes"
        echo "summary-file=$body"
    } >>"$GITHUB_OUTPUT"
fi
if [[ "$command" == plan && "$code" == 2 ]]; then exit 0; fi
exit "$code"
