-- luallm chat MODEL: an interactive conversation on stdin/stdout. Earlier
-- turns are kept (the R1 template drops their think blocks); `/bye` or end of
-- input quits, `/clear` forgets the conversation. With --json each answer is
-- one JSON line {reasoning, content, stats}.
local llm = require("luallm")
local json = require("luallm.json")
local common = require("luallm.cmd.common")

local M = {
  usage = "chat MODEL [--no-think] [--verbose] [--json] [--temperature T] [--top-p P] [--seed S] " ..
    "[--max-tokens N] [--think-budget N] [--threads N] [--ctx N]",
  flags = { json = true, verbose = true, no_think = true },
}

function M.run(pos, opt)
  local path = pos[1]
  if not path then return nil, "usage: luallm " .. M.usage end
  local m, err = llm.load(path, common.load_opts(opt))
  if not m then return nil, err end
  local gopts
  gopts, err = common.gen_opts(opt)
  if not gopts then return nil, err end
  gopts.max_tokens = gopts.max_tokens or 1024
  local messages = {}
  local tty = os.getenv("TERM") ~= nil and not opt.json
  while true do
    if tty then io.stdout:write(">>> ") io.stdout:flush() end
    local line = io.stdin:read("l")
    if not line or line == "/bye" then break end
    if line == "/clear" then
      messages = {}
    elseif line:match("%S") then
      messages[#messages + 1] = { role = "user", content = line }
      local prompt
      prompt, err = m:chat_template(messages, { thinking = not opt.no_think })
      if not prompt then return nil, err end
      local rp = llm.reasoning.stream({ open = prompt:match("<think>%s*$") ~= nil })
      local mode
      local o = {}
      for k, v in pairs(gopts) do o[k] = v end
      for piece in m:generate(prompt, o) do
        if not opt.json then
          for _, ev in ipairs(rp:feed(piece)) do
            if ev.kind ~= mode then
              io.stdout:write(ev.kind == "reasoning" and "<think>\n" or (mode and "\n</think>\n\n" or ""))
              mode = ev.kind
            end
            io.stdout:write(ev.text)
          end
          io.stdout:flush()
        end
      end
      local r = m.last_result
      local parts = llm.reasoning.split(r.text, { open = prompt:match("<think>%s*$") ~= nil })
      messages[#messages + 1] = { role = "assistant", content = parts.content }
      if opt.json then
        io.stdout:write(json.encode({ reasoning = parts.reasoning, content = parts.content,
                                      stop_reason = r.stop_reason, stats = r.stats }), "\n")
      else
        io.stdout:write("\n\n")
        if opt.verbose then io.stderr:write(common.verbose_stats(r.stats, m:placement()), "\n\n") end
      end
      io.stdout:flush()
    end
  end
  return 0
end

return M
