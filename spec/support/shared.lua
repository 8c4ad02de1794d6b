-- The one way specs reach ../shared (models, references, vectors).
-- A user's fresh clone has no ../shared: specs then skip with a clear message,
-- they never fail for that reason. LUALLM_SHARED overrides the location.
local M = {}

local function exists(p)
  local f = io.open(p, "rb")
  if f then f:close() return true end
  return false
end

local function repo_root()
  local src = debug.getinfo(1, "S").source:sub(2)
  local dir = src:match("^(.*)/spec/support/[^/]*$")
  return dir or "."
end

M.root = os.getenv("LUALLM_SHARED") or (repo_root() .. "/../shared")

--- Absolute path of a file under shared/, or nil when absent.
function M.path(rel)
  local p = M.root .. "/" .. rel
  if exists(p) then return p end
  return nil
end

-- busted gives `pending` to the environment of test functions, not to
-- required modules: find it in the environment of a caller.
local function find_pending()
  local getfenv = rawget(_G, "getfenv")
  for lvl = 3, 12 do
    local info = debug.getinfo(lvl, "f")
    if not info then break end
    if getfenv then
      local ok, env = pcall(getfenv, info.func)
      if ok and type(env) == "table" and env.pending then return env.pending end
    else
      local i = 1
      while true do
        local name, val = debug.getupvalue(info.func, i)
        if not name then break end
        if name == "_ENV" and type(val) == "table" and val.pending then return val.pending end
        i = i + 1
      end
    end
  end
  return rawget(_G, "pending")
end

--- Marks the running test pending (skipped) with a message.
function M.skip(msg)
  local p = find_pending()
  if p then p(msg) end
end

--- Path of a shared file for a test; marks the running test pending (skipped)
--- with a clear message and returns nil when the data is not there.
function M.need(rel)
  local p = M.path(rel)
  if not p then
    M.skip("needs ../shared/" .. rel .. " (not present: set LUALLM_SHARED)")
  end
  return p
end

--- Whole contents of a shared file, or nil.
function M.read(rel)
  local p = M.path(rel)
  if not p then return nil end
  local f = assert(io.open(p, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

--- A scratch directory (removed at exit by the caller) for derived files:
--- shared/ is read-only in CI.
function M.tmpdir()
  local h = io.popen("mktemp -d")
  local d = h:read("l")
  h:close()
  return d
end

return M
