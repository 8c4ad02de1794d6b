-- Helpers shared by the bin/luallm commands: model options and sampler
-- options from command-line flags, and ollama-style statistics.
local M = {}

--- Load options from flags: --ngl/--n-gpu-layers, --threads, --ctx, and the
--- budgets auto placement fits into: --vram-budget, --ram-budget (bytes or
--- sizes such as 8G).
function M.load_opts(opt)
  local o = {}
  local ngl = opt.ngl or opt.n_gpu_layers
  if ngl then o.n_gpu_layers = ngl == "auto" and "auto" or tonumber(ngl) end
  if opt.threads then o.threads = tonumber(opt.threads) end
  if opt.ctx then o.n_ctx = tonumber(opt.ctx) end
  if opt.vram_budget then o.vram_budget = opt.vram_budget end
  if opt.ram_budget then o.ram_budget = opt.ram_budget end
  return o
end

local SAMPLER_FLAGS = {
  temperature = "temperature", top_p = "top_p", top_k = "top_k", min_p = "min_p",
  seed = "seed", repeat_penalty = "repeat_penalty", repeat_last_n = "repeat_last_n",
  typical_p = "typical_p",
}

--- Generation options from flags: sampler options, --max-tokens, --stop, --think-budget.
function M.gen_opts(opt)
  local o = {}
  for flag, key in pairs(SAMPLER_FLAGS) do
    if opt[flag] then
      local v = tonumber(opt[flag])
      if not v then return nil, "--" .. flag:gsub("_", "-") .. " needs a number" end
      o[key] = v
    end
  end
  if opt.max_tokens then o.max_tokens = tonumber(opt.max_tokens) end
  if opt.stop then o.stop = { opt.stop } end
  if opt.think_budget then o.max_reasoning_tokens = tonumber(opt.think_budget) end
  return o
end

local function dur(ms)
  if ms >= 1000 then return string.format("%.6fs", ms / 1000) end
  return string.format("%.6fms", ms)
end

--- The statistics block of `ollama run --verbose`.
function M.verbose_stats(st, placement)
  local lines = {
    string.format("total duration:       %s", dur(st.total_ms + (st.load_ms or 0))),
    string.format("load duration:        %s", dur(st.load_ms or 0)),
    string.format("prompt eval count:    %d token(s)", st.prompt_n),
    string.format("prompt eval duration: %s", dur(st.prompt_ms)),
    string.format("prompt eval rate:     %.2f tokens/s", st.prompt_tps),
    string.format("eval count:           %d token(s)", st.gen_n),
    string.format("eval duration:        %s", dur(st.gen_ms)),
    string.format("eval rate:            %.2f tokens/s", st.gen_tps),
  }
  if placement then
    lines[#lines + 1] = string.format("processor:            %s (%d of %d layers on GPU)",
      placement.split, placement.gpu_layers, placement.gpu_layers + placement.cpu_layers)
  end
  return table.concat(lines, "\n")
end

return M
