#!/bin/sh
# Packs this machine's Lua 5.4 + busted (Debian packages) into .carry/luart.tgz
# so tools/cuda_device.sh can run the specs on a device machine that has no
# Lua. Run here, once, before carrying .carry to the device.
set -e
mkdir -p .carry
pkgs="lua5.4 liblua5.4-0 liblua5.4-dev lua-busted lua-cliargs lua-dkjson lua-luassert lua-mediator \
lua-penlight lua-say lua-system lua-term lua-filesystem"
list=$(mktemp)
for p in $pkgs; do dpkg -L "$p"; done | while read -r f; do
  if [ -f "$f" ] || [ -L "$f" ]; then echo "${f#/}"; fi
done | grep -v -e /doc/ -e /man/ -e lintian > "$list"
for l in libreadline.so.8 libtinfo.so.6; do
  for d in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu; do
    [ -e "/$d/$l" ] && ls /$d/$l* | sed 's|^/||' >> "$list" && break
  done
done
tar -C / -czf .carry/luart.tgz -T "$list"
rm -f "$list"
ls -la .carry/luart.tgz
