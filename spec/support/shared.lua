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

--- Path of a shared file for a test; marks the running test pending (skipped)
--- with a clear message and returns nil when the data is not there.
function M.need(rel)
  local p = M.path(rel)
  if not p then
    pending("needs ../shared/" .. rel .. " (not present: set LUALLM_SHARED)")
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
