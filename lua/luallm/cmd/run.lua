-- luallm run MODEL PROMPT: generate from a prompt (a plain prompt is wrapped
-- in the model's chat template unless --raw), streaming to stdout.
local llm = require("luallm")
local json = require("luallm.json")
local common = require("luallm.cmd.common")

local M = {
  usage = "run MODEL PROMPT [--raw] [--verbose] [--json] [--max-tokens N] [--temperature T] [--top-p P] " ..
    "[--top-k K] [--seed S] [--stop STR] [--think-budget N] [--ngl N|auto] [--threads N] [--ctx N]",
  flags = { json = true, verbose = true, raw = true, no_think = true },
}

function M.run(pos, opt)
  local path, prompt = pos[1], pos[2]
  if not path or not prompt then return nil, "usage: luallm " .. M.usage end
  local m, err = llm.load(path, common.load_opts(opt))
  if not m then return nil, err end
  local gopts
  gopts, err = common.gen_opts(opt)
  if not gopts then return nil, err end
  gopts.max_tokens = gopts.max_tokens or 512
  local text = prompt
  if not opt.raw then
    local rendered = m:chat_template({ { role = "user", content = prompt } }, { thinking = not opt.no_think })
    if rendered then text = rendered end
  end
  local out = {}
  if not opt.json and text:match("<think>%s*$") then io.stdout:write("<think>\n") end
  for piece in m:generate(text, gopts) do
    if opt.json then
      out[#out + 1] = piece
    else
      io.stdout:write(piece)
      io.stdout:flush()
    end
  end
  local r = m.last_result
  if opt.json then
    local full = table.concat(out)
    local parts = llm.reasoning.split(full, { open = text:match("<think>%s*$") ~= nil })
    local p = m:placement()
    io.stdout:write(json.encode({
      text = full, reasoning = parts.reasoning, content = parts.content,
      stop_reason = r.stop_reason, tokens = #r.tokens, stats = r.stats, processor = p.split,
    }), "\n")
  else
    io.stdout:write("\n")
    if opt.verbose then io.stderr:write("\n", common.verbose_stats(r.stats, m:placement()), "\n") end
  end
  return 0
end

return M
