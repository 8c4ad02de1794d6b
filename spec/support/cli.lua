-- Running commands from specs: the Lua interpreter busted runs under (so
-- bin/luallm is tested with the same Lua as the module), shell quoting, and a
-- shell runner that captures stdout, stderr (in a file of the spec's own temp
-- folder, never a fixed path: specs run in parallel) and the exit code.
local M = {}

--- The interpreter of this process (arg's most negative index).
function M.interpreter()
  local i = -1
  while arg and arg[i - 1] do i = i - 1 end
  return (arg and arg[i]) or (jit and "luajit" or "lua5.4")
end

--- s quoted for the shell.
function M.q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- A runner bound to temp folder tmp: run(cmd) -> stdout, exit code, stderr.
function M.runner(tmp)
  return function(cmd)
    local err = tmp .. "/stderr"
    local h = io.popen(cmd .. " 2>" .. M.q(err) .. "; echo \"rc=$?\"")
    local out = h:read("*a")
    h:close()
    local rc = tonumber(out:match("rc=(%d+)%s*$"))
    local f = io.open(err, "rb")
    local e = f and f:read("*a") or ""
    if f then f:close() end
    return (out:gsub("rc=%d+%s*$", "")), rc, e
  end
end

return M
