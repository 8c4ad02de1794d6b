-- bin/luallm: argument parsing and dispatch. Each command lives in
-- luallm/cmd/<name>.lua and returns {usage = "...", run = function(args) -> exit code}.
-- Errors are one line on stderr and a non-zero exit; --json puts exactly one
-- JSON object on stdout.
local M = {}

local COMMANDS = { "run", "chat", "info", "bench", "ppl", "quantize", "eval", "synth" }

--- Splits argv into positionals and options. `--name value`, `--name=value`,
--- `-p 512`; flags listed in `flags` take no value.
function M.parse(argv, flags)
  flags = flags or {}
  local pos, opt = {}, {}
  local i = 1
  while i <= #argv do
    local a = argv[i]
    local name, val = a:match("^%-%-?([%w][%w%-_]*)=(.*)$")
    if name then
      opt[name:gsub("%-", "_")] = val
    elseif a:match("^%-%-?[%a]") then
      name = a:gsub("^%-%-?", ""):gsub("%-", "_")
      if flags[name] then
        opt[name] = true
      else
        if i == #argv then return nil, "option " .. a .. " needs a value" end
        opt[name] = argv[i + 1]
        i = i + 1
      end
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  return pos, opt
end

local function usage()
  local lines = { "usage: luallm COMMAND [args] [--json]", "commands:" }
  for _, c in ipairs(COMMANDS) do
    local ok, mod = pcall(require, "luallm.cmd." .. c)
    if ok then lines[#lines + 1] = "  " .. mod.usage end
  end
  return table.concat(lines, "\n")
end

function M.fail(msg)
  io.stderr:write("luallm: ", (tostring(msg):gsub("\n", " ")), "\n")
  return 1
end

function M.main(argv)
  local name = argv[1]
  if not name or name == "-h" or name == "--help" or name == "help" then
    print(usage())
    return name and 0 or 2
  end
  local ok, mod = pcall(require, "luallm.cmd." .. name)
  if not ok then
    if tostring(mod):find("module 'luallm.cmd." .. name .. "' not found", 1, true) then
      return M.fail("unknown command '" .. name .. "' (try: luallm help)")
    end
    return M.fail(mod)
  end
  local rest = {}
  for i = 2, #argv do rest[#rest + 1] = argv[i] end
  local pos, opt = M.parse(rest, mod.flags)
  if not pos then return M.fail(opt) end
  local okr, code, err = pcall(mod.run, pos, opt)
  if not okr then return M.fail(code) end
  if code == nil then return M.fail(err or "failed") end
  return code
end

return M
