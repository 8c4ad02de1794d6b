# Sourced by the device scripts (tools/cuda_device.sh, bench/device_table.sh):
# puts a Lua 5.4 on PATH (the carried runtime of tools/cuda_pack_lua.sh when
# the machine has none), builds with nvcc, and sets LUA_PATH / LUA_CPATH.
# Expects OUT (a log folder) to be set.
LUA_INC=/usr/include/lua5.4
if ! command -v lua5.4 >/dev/null && [ -f .carry/luart.tgz ]; then
  R=/tmp/luart
  mkdir -p $R && tar -C $R -xzf .carry/luart.tgz
  export PATH=$R/usr/bin:$PATH
  export LD_LIBRARY_PATH=$R/usr/lib/x86_64-linux-gnu:$R/lib/x86_64-linux-gnu:$LD_LIBRARY_PATH
  LUA_INC=$R/usr/include/lua5.4
  cp $R/usr/include/x86_64-linux-gnu/lua5.4-deb-multiarch.h $R/usr/include/lua5.4/ 2>/dev/null
  SYS_PATH="$R/usr/share/lua/5.4/?.lua;$R/usr/share/lua/5.4/?/init.lua"
  SYS_CPATH="$R/usr/lib/x86_64-linux-gnu/lua/5.4/?.so"
  BUSTED=$R/usr/bin/busted
else
  SYS_PATH="/usr/share/lua/5.4/?.lua;/usr/share/lua/5.4/?/init.lua;/usr/local/share/lua/5.4/?.lua"
  SYS_CPATH="/usr/lib/x86_64-linux-gnu/lua/5.4/?.so;/usr/local/lib/lua/5.4/?.so"
  BUSTED=$(command -v busted)
fi
make -j16 LUA_INC=$LUA_INC > "$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
export LUA_PATH="lua/?.lua;lua/?/init.lua;spec/?.lua;$SYS_PATH"
export LUA_CPATH="build/lua5.4/?.so;$SYS_CPATH"
