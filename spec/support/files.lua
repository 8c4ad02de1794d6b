-- File helpers for specs (binary mode throughout).
local M = {}

--- Contents of path, or nil when it cannot be opened.
function M.read(path)
  local f = path and io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

--- Contents of path; an error (failing the test) when it cannot be opened.
function M.read_all(path)
  return assert(M.read(path), "cannot read " .. tostring(path))
end

--- n bytes of path from offset off.
function M.read_at(path, off, n)
  local f = assert(io.open(path, "rb"))
  f:seek("set", off)
  local s = f:read(n)
  f:close()
  return s
end

function M.write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

function M.exists(path)
  local f = path and io.open(path, "rb")
  if f then f:close() return true end
  return false
end

--- Size in bytes, or nil when path cannot be opened.
function M.size(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local n = f:seek("end")
  f:close()
  return n
end

--- Names in a directory, sorted, joined by spaces ("" when empty): specs
--- check that a failed write left nothing behind.
function M.listdir(dir)
  local h = io.popen("ls -A '" .. dir .. "'")
  local names = {}
  for l in h:lines() do names[#names + 1] = l end
  h:close()
  table.sort(names)
  return table.concat(names, " ")
end

return M
