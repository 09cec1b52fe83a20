#!/usr/bin/env python3
"""gantry's pull-request helper for GitHub Actions (standard library only).

  pr.py comment --key STACK/ENV --pr N --exit-code C --plan plan.md --error plan.err
      Posts the plan (exit code 0 or 2) or the plan's error (any other code)
      as ONE comment on the pull request: the first run creates it, later runs
      edit it. The comment is found again by a hidden marker naming the key,
      so two stacks or environments keep a comment each.

  pr.py find-plan --sha SHA --artifact NAME [--workflow FILE]
      For a push to the default branch: finds the pull request merged as SHA,
      the last successful pull_request run of this workflow on its head
      commit, and that run's plan artifact. Writes `run-id=ID` to
      $GITHUB_OUTPUT when there is one; otherwise says why and writes nothing.

It talks to $GITHUB_API_URL as $GITHUB_REPOSITORY with $GITHUB_TOKEN, which
GitHub Actions sets (the token comes from the step's env). It never prints
the token.
"""

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

# GitHub refuses comment bodies over 65536 characters.
MAX_BODY = 65000
# The error text of a failed plan is kept short: its tail says what failed.
MAX_ERROR = 20000


class ApiError(Exception):
    pass


class GitHub:
    def __init__(self, api_url, repository, token):
        self.api_url = api_url.rstrip("/")
        self.repository = repository
        self.token = token

    def request(self, method, path, body=None, query=None):
        url = f"{self.api_url}/repos/{self.repository}{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", "application/vnd.github+json")
        req.add_header("X-GitHub-Api-Version", "2022-11-28")
        req.add_header("User-Agent", "gantry-pr")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                text = resp.read().decode()
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")[:500]
            raise ApiError(f"{method} {path}: HTTP {e.code}: {detail}") from None
        except urllib.error.URLError as e:
            raise ApiError(f"{method} {path}: {e.reason}") from None
        return json.loads(text) if text else None

    def pages(self, path, query=None):
        """Every item of a paginated list (at most 10 pages of 100)."""
        for page in range(1, 11):
            items = self.request("GET", path, query={**(query or {}), "per_page": 100, "page": page})
            if isinstance(items, dict):
                # Lists such as workflow runs come wrapped in an object.
                items = next((v for v in items.values() if isinstance(v, list)), [])
            yield from items
            if len(items) < 100:
                return


def marker(key):
    return f"<!-- gantry-plan: {key} -->"


def truncate(text, limit, note):
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n\n{note}\n"


def comment_body(key, exit_code, plan, error):
    run = ""
    server, repo, run_id = (os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    if server and repo and run_id:
        run = f"{server}/{repo}/actions/runs/{run_id}"
    head = os.environ.get("HEAD_SHA", "")[:12]
    where = " ".join(p for p in (f"commit `{head}`" if head else "", f"[run]({run})" if run else "") if p)
    footer = f"\n\n<sub>gantry plan of `{key}`{' at ' + where if where else ''}.</sub>\n"
    if exit_code in (0, 2):
        text = truncate(plan, MAX_BODY - 1000, f"_The plan is too long for a comment: see the [run's summary]({run})._")
        return f"{marker(key)}\n{text}{footer}"
    # The tail of the output says what failed; gantry never prints a secret.
    if len(error) > MAX_ERROR:
        error = "[...]\n" + error[-MAX_ERROR:]
    fence = "~~~~"
    return (
        f"{marker(key)}\n### gantry plan failed: `{key}`\n\n"
        f"`gantry plan` exited with code {exit_code}:\n\n{fence}text\n{error.rstrip()}\n{fence}\n{footer}"
    )


def cmd_comment(gh, args):
    plan = read_text(args.plan)
    error = read_text(args.error)
    body = comment_body(args.key, args.exit_code, plan, error)
    mark = marker(args.key)
    existing = next(
        (c for c in gh.pages(f"/issues/{args.pr}/comments") if mark in (c.get("body") or "")),
        None,
    )
    if existing:
        gh.request("PATCH", f"/issues/comments/{existing['id']}", {"body": body})
        print(f"Updated the plan comment {existing['id']} on pull request #{args.pr}.")
    else:
        made = gh.request("POST", f"/issues/{args.pr}/comments", {"body": body})
        print(f"Commented the plan on pull request #{args.pr} (comment {made.get('id')}).")
    return 0


def read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def workflow_file(args):
    if args.workflow:
        return args.workflow
    # GITHUB_WORKFLOW_REF: OWNER/REPO/.github/workflows/FILE@REF
    ref = os.environ.get("GITHUB_WORKFLOW_REF", "")
    return ref.split("@", 1)[0].rsplit("/", 1)[-1]


def cmd_find_plan(gh, args):
    pulls = gh.request("GET", f"/commits/{args.sha}/pulls") or []
    merged = [p for p in pulls if p.get("merged_at")]
    pr = next((p for p in merged if p.get("merge_commit_sha") == args.sha), merged[0] if merged else None)
    if pr is None:
        print(f"No merged pull request has commit {args.sha}: there is no reviewed plan.")
        return 0
    head = pr["head"]["sha"]
    workflow = workflow_file(args)
    if not workflow:
        raise ApiError("cannot tell this workflow's file: pass --workflow")
    runs = gh.request(
        "GET",
        f"/actions/workflows/{urllib.parse.quote(workflow)}/runs",
        query={"event": "pull_request", "head_sha": head, "status": "success", "per_page": 20},
    )
    for run in (runs or {}).get("workflow_runs", []):
        if run.get("conclusion") != "success" or run.get("head_sha") != head:
            continue
        artifacts = gh.request("GET", f"/actions/runs/{run['id']}/artifacts", query={"name": args.artifact})
        live = [a for a in (artifacts or {}).get("artifacts", []) if a.get("name") == args.artifact and not a.get("expired")]
        if not live:
            continue
        print(f"The reviewed plan: pull request #{pr['number']}, commit {head[:12]}, run {run['id']}.")
        out = os.environ.get("GITHUB_OUTPUT")
        if out:
            with open(out, "a", encoding="utf-8") as f:
                f.write(f"run-id={run['id']}\npr={pr['number']}\n")
        return 0
    print(
        f"Pull request #{pr['number']} has no successful plan of commit {head[:12]} with an artifact "
        f"{args.artifact}: there is no reviewed plan."
    )
    return 0


def main(argv):
    parser = argparse.ArgumentParser(prog="pr.py", description="gantry's pull-request helper")
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("comment", help="post or update the plan comment")
    c.add_argument("--key", required=True)
    c.add_argument("--pr", required=True, type=int)
    c.add_argument("--exit-code", required=True, type=int)
    c.add_argument("--plan", required=True)
    c.add_argument("--error", required=True)
    f = sub.add_parser("find-plan", help="find the run holding the reviewed plan of a merge")
    f.add_argument("--sha", required=True)
    f.add_argument("--artifact", required=True)
    f.add_argument("--workflow")
    args = parser.parse_args(argv)

    missing = [k for k in ("GITHUB_API_URL", "GITHUB_REPOSITORY") if not os.environ.get(k)]
    if missing:
        print(f"pr.py: {', '.join(missing)} not set (GitHub Actions sets them)", file=sys.stderr)
        return 1
    gh = GitHub(os.environ["GITHUB_API_URL"], os.environ["GITHUB_REPOSITORY"], os.environ.get("GITHUB_TOKEN", ""))
    try:
        return cmd_comment(gh, args) if args.command == "comment" else cmd_find_plan(gh, args)
    except ApiError as e:
        print(f"pr.py: GitHub API error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
