#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image (Ubuntu), with the
# autograder zip unpacked in /autograder/source (docs/gradescope.md). It installs Python 3.11,
# util-linux (the sandbox's unshare, setpriv, prlimit) and keras-grader, then grades the
# reference solution once: that checks the installation and caches the reference's run.
set -euo pipefail

SOURCE=/autograder/source
REPO="$SOURCE/keras-grader"       # this repository, vendored into the zip
VENV="$SOURCE/venv"
export KERAS_GRADER_CACHE="$SOURCE/cache"
export DEBIAN_FRONTEND=noninteractive

apt-get update
apt-get install -y --no-install-recommends util-linux ca-certificates
if ! apt-get install -y --no-install-recommends python3.11 python3.11-venv; then
    # Ubuntu releases without a python3.11 package: the deadsnakes PPA has it.
    apt-get install -y --no-install-recommends software-properties-common gpg-agent
    add-apt-repository -y ppa:deadsnakes/ppa
    apt-get update
    apt-get install -y --no-install-recommends python3.11 python3.11-venv
fi

python3.11 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
shopt -s nullglob
wheels=("$SOURCE"/keras_grader-*.whl)
if [ ${#wheels[@]} -gt 0 ]; then
    "$VENV/bin/pip" install --quiet "${wheels[0]}"   # built with `pip wheel --no-deps .`
else
    "$VENV/bin/pip" install --quiet -e "$REPO"
fi

# Grade the reference solution as if a student had uploaded it: the install works, the
# sandbox can run here, and the reference's run is cached for every submission to come.
warm=$(mktemp -d)
mkdir "$warm/submission"
cp "$REPO"/reference/mnist/{preprocessing,models,training}.py "$warm/submission/"
"$VENV/bin/grader" gradescope --submission "$warm/submission" \
    --results "$warm/results.json" --assignment "$REPO/reference/mnist" --data bundled
"$VENV/bin/python" - "$warm/results.json" <<'PY'
import json, sys

results = json.load(open(sys.argv[1]))
isolation = results["extra_data"]["isolation"]
print(f"reference: {results['score']:g} / {results['max_score']:g}, isolation {isolation}")
if results["score"] != results["max_score"]:
    sys.exit("the reference solution did not get full marks: see the output above")
PY
rm -rf "$warm"
