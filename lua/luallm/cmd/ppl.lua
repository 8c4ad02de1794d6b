-- luallm ppl MODEL FILE: perplexity over a text file, as llama.cpp's
-- perplexity tool computes it; --against F16MODEL adds the KL divergence and
-- top-1 agreement of MODEL against that base model.
local llm = require("luallm")
local json = require("luallm.json")

local M = {
  usage = "ppl MODEL FILE [--ctx 512] [--batch N] [--threads N] [--against F16MODEL] [--limit-chunks N] [--json]",
  flags = { json = true },
}

function M.run(pos, opt)
  local path, file = pos[1], pos[2]
  if not path or not file then return nil, "usage: luallm " .. M.usage end
  local n_ctx = tonumber(opt.ctx or 512)
  local limit = opt.limit_chunks and tonumber(opt.limit_chunks)
  if not n_ctx or (opt.limit_chunks and not limit) then return nil, "ppl: --ctx and --limit-chunks need numbers" end
  local f, ferr = io.open(file, "rb")
  if not f then return nil, ferr end
  local text = f:read("*a")
  f:close()
  local threads = opt.threads and tonumber(opt.threads)
  local m, err = llm.load(path, { threads = threads })
  if not m then return nil, err end
  local base
  if opt.against then
    base, err = llm.load(opt.against, { threads = threads })
    if not base then return nil, err end
  end
  local r
  r, err = llm.perplexity(m, text, {
    n_ctx = n_ctx, n_batch = opt.batch and tonumber(opt.batch), threads = threads,
    limit_chunks = limit, against = base,
    progress = function(done, total, ppl)
      io.stderr:write(string.format("\rchunk %d/%d  ppl %.4f", done, total, ppl))
      if done == total then io.stderr:write("\n") end
      io.stderr:flush()
    end,
  })
  if not r then return nil, err end
  if opt.json then
    io.stdout:write(json.encode(r), "\n")
  else
    print(string.format("PPL = %.4f +/- %.5f  (%d tokens, %d chunks of %d)",
      r.ppl, r.stderr, r.tokens, r.n_chunks, r.n_ctx))
    if r.kld then
      print(string.format("KLD = %.6f +/- %.6f  same top-1 = %.2f%%", r.kld, r.kld_stderr, r.same_top * 100))
    end
  end
  return 0
end

return M
