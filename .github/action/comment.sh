#!/usr/bin/env bash
# Keep one plan comment per stack on the pull request up to date (/action.yml, step 3): the comment
# carries a hidden marker naming the stack; the first plan posts it, later plans edit it in place, so a
# pull request never collects a comment per push.
#
# Environment:
#   GITHUB_TOKEN       a token that may write pull-request comments (pull-requests: write)
#   GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_SERVER_URL, GITHUB_RUN_ID   set by GitHub Actions
#   PR_NUMBER          the pull request
#   STACK              the stack input (the marker: one comment per stack file)
#   BODY_FILE          the plan as Markdown (run.sh's summary-file)
#   EXITCODE           zinfra plan's exit code (0, 1 or 2)
set -euo pipefail

: "${GITHUB_TOKEN:?GITHUB_TOKEN is not set}" "${PR_NUMBER:?PR_NUMBER is not set}" "${STACK:?STACK is not set}"
api="${GITHUB_API_URL:-https://api.github.com}/repos/${GITHUB_REPOSITORY:?GITHUB_REPOSITORY is not set}"
marker="<!-- zinfra-plan: $STACK -->"
case "${EXITCODE:-1}" in
0) status="no changes" ;;
2) status="changes" ;;
*) status="failed (exit ${EXITCODE:-?})" ;;
esac
run_url="${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY}/actions/runs/${GITHUB_RUN_ID:-0}"

# GitHub refuses comments over 65536 characters: keep the head of a long plan and link the run.
payload="$(MARKER="$marker" STATUS="$status" RUN_URL="$run_url" python3 - "${BODY_FILE:-/dev/null}" <<'PY'
import json, os, sys
try:
    plan = open(sys.argv[1], encoding="utf-8").read()
except OSError:
    plan = ""
limit = 60000
if len(plan) > limit:
    plan = plan[:limit] + "\n\n… cut short: the whole plan is in the run's summary."
stack = os.environ["STACK"]
body = f"{os.environ['MARKER']}\n**zinfra plan** `{stack}`: {os.environ['STATUS']} ([run]({os.environ['RUN_URL']}))\n\n{plan}"
print(json.dumps({"body": body}))
PY
)"

call() { # METHOD URL [DATA]
    curl --fail --silent --show-error --location --retry 3 -X "$1" "$2" \
        -H "Authorization: Bearer $GITHUB_TOKEN" -H "Accept: application/vnd.github+json" \
        -H "X-GitHub-Api-Version: 2022-11-28" ${3:+--data "$3"}
}

# The existing comment: the first whose body starts with the marker, over every page.
id=""
page=1
while [[ -z "$id" ]]; do
    comments="$(call GET "$api/issues/$PR_NUMBER/comments?per_page=100&page=$page")"
    id="$(MARKER="$marker" python3 -c '
import json, os, sys
cs = json.load(sys.stdin)
print(next((str(c["id"]) for c in cs if c.get("body", "").startswith(os.environ["MARKER"])), ""))
print(len(cs))' <<<"$comments")"
    count="$(tail -n 1 <<<"$id")"
    id="$(head -n 1 <<<"$id")"
    [[ "$count" -lt 100 ]] && break
    page=$((page + 1))
done

if [[ -n "$id" ]]; then
    call PATCH "$api/issues/comments/$id" "$payload" >/dev/null
    echo "updated the plan comment $id on pull request #$PR_NUMBER"
else
    call POST "$api/issues/$PR_NUMBER/comments" "$payload" >/dev/null
    echo "posted the plan comment on pull request #$PR_NUMBER"
fi
