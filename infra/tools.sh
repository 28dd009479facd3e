#!/usr/bin/env bash
# Checks that the Python tools snapkeep needs (infra/requirements.txt) are
# installed and working, and installs only the missing ones with
#   python3 -m pip install '<pinned requirement line>'
# When everything is present it touches no network.
#
# Usage: infra/tools.sh        (the Makefile's `make tools` calls it)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
req="$here/requirements.txt"
python="${PYTHON:-python3}"

if ! command -v "$python" >/dev/null 2>&1; then
  echo "tools: $python not found on PATH; install Python 3 (3.9+) and pip first" >&2
  exit 1
fi

# requirement <package>: the pinned line for a package from requirements.txt.
requirement() {
  local line
  line="$(grep -E "^$1(\[[a-z,]+\])?==" "$req" | head -n1 || true)"
  if [[ -z "$line" ]]; then
    echo "tools: no pinned line for $1 in $req" >&2
    exit 1
  fi
  printf '%s\n' "$line"
}

# check_<tool>: succeeds when the tool is on PATH and works.
check_moto() {
  command -v moto_server >/dev/null 2>&1 &&
    moto_server --help >/dev/null 2>&1 &&
    "$python" -c 'import moto.server, flask, flask_cors' >/dev/null 2>&1
}
check_cfnlint() { command -v cfn-lint >/dev/null 2>&1 && cfn-lint --version >/dev/null 2>&1; }
check_aws()     { command -v aws >/dev/null 2>&1 && aws --version >/dev/null 2>&1; }

# installed_version <dist>: the installed version of a Python distribution.
installed_version() {
  "$python" -c 'import importlib.metadata as m, sys; print(m.version(sys.argv[1]))' "$1" 2>/dev/null || true
}

status=0
# tool name | check function | requirement package | needed by make test/lint
# (the AWS CLI is only for poking at the local stack by hand: failing to
# install it is a warning, not a failure)
for spec in "moto_server|check_moto|moto|required" "cfn-lint|check_cfnlint|cfn-lint|required" "aws|check_aws|awscli|optional"; do
  IFS='|' read -r tool check pkg need <<<"$spec"
  line="$(requirement "$pkg")"
  want="${line##*==}"
  if "$check"; then
    have="$(installed_version "$pkg")"
    if [[ -n "$have" && "$have" != "$want" ]]; then
      echo "tools: $tool ok ($pkg $have installed; infra/requirements.txt pins $want)"
    else
      echo "tools: $tool ok ($pkg ${have:-?})"
    fi
    continue
  fi
  echo "tools: $tool missing or not working; installing: $python -m pip install '$line'"
  if "$python" -m pip install "$line"; then
    command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
    hash -r
    if "$check"; then
      echo "tools: $tool installed ($line)"
      continue
    fi
    scripts="$("$python" -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null || true)"
    echo "tools: installed '$line' but $tool still does not work: is pip's script directory ${scripts:+($scripts) }on PATH?" >&2
  else
    echo "tools: FAILED to install $tool. Run by hand (needs access to PyPI):" >&2
  fi
  echo "  $python -m pip install '$line'" >&2
  echo "  (or everything: $python -m pip install -r infra/requirements.txt)" >&2
  echo "  (if pip refuses a system Python as externally managed, work in a virtualenv:" >&2
  echo "   $python -m venv .venv && . .venv/bin/activate && make test)" >&2
  if [[ "$need" == optional ]]; then
    echo "tools: $tool is optional (make test and make lint do not use it); going on without it" >&2
    continue
  fi
  status=1
done
exit "$status"
