#!/usr/bin/env bash
# Checks that the Python tools snapkeep needs (infra/requirements.txt) are
# installed and working, and installs only the missing ones with
#   python3 -m pip install '<pinned requirement line>'
# and that headless Chromium is, installing Debian's package when missing
#   apt-get install -y chromium        (as root, or with sudo -n)
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
# Headless Chromium (Debian's package `chromium`) renders the HTML
# escalation report in cmd/snapctl's browser test. When it is missing it is
# installed with apt-get, as root or through passwordless sudo (the package
# lists are refreshed only if the first try cannot find it); otherwise the
# exact command to run is printed. $CHROMIUM names another binary.
check_chromium() {
  local bin="${CHROMIUM:-chromium}"
  command -v "$bin" >/dev/null 2>&1 && "$bin" --version >/dev/null 2>&1
}
install_chromium() {
  local apt
  command -v apt-get >/dev/null 2>&1 || return 1
  if [[ "$(id -u)" -eq 0 ]]; then
    apt=(env DEBIAN_FRONTEND=noninteractive apt-get)
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    apt=(sudo -n env DEBIAN_FRONTEND=noninteractive apt-get)
  else
    return 1
  fi
  "${apt[@]}" install -y chromium || { "${apt[@]}" update && "${apt[@]}" install -y chromium; }
}
if check_chromium; then
  echo "tools: chromium ok ($("${CHROMIUM:-chromium}" --version 2>/dev/null | head -n1))"
elif [[ -n "${CHROMIUM:-}" ]]; then
  echo "tools: \$CHROMIUM=$CHROMIUM is not a working Chromium; unset it to use Debian's chromium" >&2
  status=1
else
  echo "tools: chromium missing (headless Chromium checks the HTML report); installing: apt-get install -y chromium"
  if install_chromium && hash -r && check_chromium; then
    echo "tools: chromium installed ($(chromium --version 2>/dev/null | head -n1))"
  else
    echo "tools: FAILED to install chromium. Run by hand (Debian or Ubuntu):" >&2
    echo "  sudo apt-get update && sudo apt-get install -y chromium" >&2
    echo "  (or point CHROMIUM at a Chromium binary)" >&2
    status=1
  fi
fi
exit "$status"
