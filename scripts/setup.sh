#!/usr/bin/env bash
# Sets up the developer tooling of this repository. Idempotent: safe to run again.
#
#   scripts/setup.sh
#
# - ./.venv: a Python virtual environment with scripts/requirements-dev.txt installed, every
#   package pinned by scripts/requirements-lock.txt (constraints: no resolver backtracking)
#   (moto server, AWS SAM CLI, cfn-lint, cargo-lambda). Reinstalled only when the
#   requirements file changes (stamp file .venv/.installed-<sha256 of the file>).
# - the clippy and rustfmt components of the active Rust toolchain, if missing.
#
# Everything goes inside the repository (./.venv); nothing is installed elsewhere.
# Environment: PYTHON (default python3) picks the interpreter used to create the venv.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

venv="$repo_root/.venv"
requirements="$repo_root/scripts/requirements-dev.txt"
constraints="$repo_root/scripts/requirements-lock.txt"
python="${PYTHON:-python3}"

log() { printf 'setup: %s\n' "$*"; }

# --- Python tooling -------------------------------------------------------------
if [[ -x "$venv/bin/python" ]]; then
  log "virtual environment exists: $venv"
else
  log "creating virtual environment: $python -m venv $venv"
  "$python" -m venv "$venv"
fi

req_sha="$(cat "$requirements" "$constraints" | sha256sum | cut -d' ' -f1)"
stamp="$venv/.installed-$req_sha"
if [[ -f "$stamp" ]]; then
  log "requirements already installed (stamp $(basename "$stamp"))"
else
  log "installing $(realpath --relative-to="$repo_root" "$requirements") into .venv"
  "$venv/bin/python" -m pip install --disable-pip-version-check -r "$requirements" -c "$constraints"
  # Only the stamp of the current requirements file may exist.
  rm -f "$venv"/.installed-*
  touch "$stamp"
  log "installed; wrote stamp $(basename "$stamp")"
fi

for tool in sam cfn-lint moto_server cargo-lambda; do
  if [[ ! -x "$venv/bin/$tool" ]]; then
    log "error: $venv/bin/$tool is missing after the install" >&2
    exit 1
  fi
done
log "tools: $("$venv/bin/sam" --version), $("$venv/bin/cfn-lint" --version)"

# --- Rust components ------------------------------------------------------------
# rustup may have no network here: a failed `rustup component add` is only fatal when
# a component is really missing.
if command -v rustup >/dev/null 2>&1; then
  installed="$(rustup component list --installed 2>/dev/null || true)"
  missing=()
  for component in clippy rustfmt; do
    grep -q "^${component}-" <<<"$installed" || missing+=("$component")
  done
  if ((${#missing[@]} == 0)); then
    log "rust components present: clippy, rustfmt"
  else
    log "installing rust components: ${missing[*]}"
    if ! rustup component add "${missing[@]}"; then
      log "error: 'rustup component add ${missing[*]}' failed and the components are missing" >&2
      exit 1
    fi
  fi
elif command -v cargo-clippy >/dev/null 2>&1 && command -v rustfmt >/dev/null 2>&1; then
  log "rust components present (no rustup): clippy, rustfmt"
else
  log "warning: no rustup, and clippy/rustfmt not found on PATH; install them with your toolchain" >&2
fi

log "done. Activate with: source .venv/bin/activate"
