#!/usr/bin/env bash
# Set up Forgeline from a fresh checkout: system packages (as root), a virtualenv, the package.
#   scripts/setup.sh          the runtime (demo, run, serve)
#   scripts/setup.sh test     plus what the test suite needs (Chromium, PostgreSQL, Redis)
set -euo pipefail
cd "$(dirname "$0")/.."
want=${1:-runtime}

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "forgeline setup: please install: ${missing[*]} (apt-get install ${missing[*]})" >&2
    return 0
  fi
  echo "forgeline setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

apt_install git bubblewrap python3-venv
if [ "$want" = test ]; then
  apt_install chromium fonts-dejavu-core postgresql redis-server git-lfs
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
if [ "$want" = test ]; then
  .venv/bin/pip install -q -e '.[test]'
else
  .venv/bin/pip install -q -e .
fi

# `forgeline` on PATH, as every hint prints it: a link in ~/.local/bin or /usr/local/bin
# (the first on PATH that can take it), unless `forgeline` already resolves to this one.
launcher="$PWD/.venv/bin/forgeline"
on_path() { [ "$(readlink -f "$(command -v forgeline 2>/dev/null)" 2>/dev/null)" = "$(readlink -f "$launcher")" ]; }
if ! on_path; then
  for dir in "$HOME/.local/bin" /usr/local/bin; do
    case ":$PATH:" in *":$dir:"*) ;; *) continue ;; esac
    [ -e "$dir/forgeline" ] && [ ! -L "$dir/forgeline" ] && continue
    if mkdir -p "$dir" 2>/dev/null && ln -sf "$launcher" "$dir/forgeline" 2>/dev/null; then
      echo "forgeline setup: $dir/forgeline -> $launcher" >&2
      break
    fi
  done
fi
if ! on_path; then
  echo "forgeline setup: run Forgeline as $launcher (or put $PWD/.venv/bin on PATH)" >&2
fi
