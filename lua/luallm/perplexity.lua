-- llm.perplexity(model, text, opts): perplexity of a model over a text, the
-- way llama.cpp's perplexity tool measures it, so figures compare directly:
-- the tokenized text is cut into non-overlapping windows of n_ctx tokens, the
-- first token of each window is replaced by BOS (when the vocabulary adds
-- one), and only the second half of each window is scored, so every scored
-- token sees at least n_ctx/2 tokens of context.
-- With opts.against (a base model, e.g. the F16 original) the same windows
-- also run through the base model and the KL divergence of the base
-- distribution vs this model's, and the top-1 agreement, are reported.
local core = require("luallm_core")

local M = {}

local function stats(sum, sum2, n)
  local mean = sum / n
  local var = sum2 / n - mean * mean
  local se = (n > 1 and var > 0) and math.sqrt(var / (n - 1)) or 0
  return mean, se
end

--- llm.perplexity(model, text, {n_ctx = 512, n_batch, threads, limit_chunks,
---   against = base_model, progress = function(done, total, ppl) end})
--- -> {ppl, stderr, nll, tokens, n_chunks, [kld, kld_stderr, same_top]} | nil, msg
function M.perplexity(model, text, opts)
  opts = opts or {}
  if type(text) ~= "string" then return nil, "perplexity: text must be a string" end
  local n_ctx = opts.n_ctx or 512
  if n_ctx < 4 then return nil, "perplexity: n_ctx must be at least 4" end
  local n_batch = math.min(opts.n_batch or n_ctx, n_ctx)
  local tok = model.tokenizer
  local add_bos = tok.add_bos and tok.bos ~= nil
  local ids = tok:encode(text, { bos = add_bos, special = false })
  local n_chunks = math.floor(#ids / n_ctx)
  if opts.limit_chunks and opts.limit_chunks > 0 then
    n_chunks = math.min(n_chunks, opts.limit_chunks)
  end
  if n_chunks < 1 then
    return nil, string.format("perplexity: need at least %d tokens, the text has %d", n_ctx, #ids)
  end
  local ctx, err = model:context({ n_ctx = n_ctx, n_batch = n_batch, threads = opts.threads })
  if not ctx then return nil, err end
  local base, bctx = opts.against, nil
  if base then
    if base.n_vocab ~= model.n_vocab then
      return nil, "perplexity: --against model has a different vocabulary size"
    end
    bctx, err = base:context({ n_ctx = n_ctx, n_batch = n_batch, threads = opts.threads })
    if not bctx then return nil, err end
  end
  local first = math.floor(n_ctx / 2) -- first scored position (its logits predict the next token)
  local nll_sum, nll_sum2, count = 0, 0, 0
  local kld_sum, kld_sum2, same = 0, 0, 0
  for c = 0, n_chunks - 1 do
    local start = c * n_ctx
    ctx:clear()
    if bctx then bctx:clear() end
    for s = 0, n_ctx - 1, n_batch do
      local len = math.min(n_batch, n_ctx - s)
      local piece = {}
      for k = 1, len do piece[k] = ids[start + s + k] end
      if s == 0 and add_bos then piece[1] = tok.bos end
      local ok
      ok, err = ctx:eval(piece, { logits = "all" })
      if not ok then return nil, err end
      if bctx then
        ok, err = bctx:eval(piece, { logits = "all" })
        if not ok then return nil, err end
      end
      for k = 1, len do
        local j = s + k - 1 -- position in the window
        if j >= first and j < n_ctx - 1 then
          local row = ctx:logits(k)
          local nll = core.ppl_nll(row, ids[start + j + 2])
          nll_sum = nll_sum + nll
          nll_sum2 = nll_sum2 + nll * nll
          count = count + 1
          if bctx then
            local kld, top = core.ppl_kld(bctx:logits(k), row)
            kld_sum = kld_sum + kld
            kld_sum2 = kld_sum2 + kld * kld
            if top then same = same + 1 end
          end
        end
      end
    end
    if opts.progress then
      opts.progress(c + 1, n_chunks, math.exp(nll_sum / count))
    end
  end
  ctx:close()
  if bctx then bctx:close() end
  local mean, se = stats(nll_sum, nll_sum2, count)
  local ppl = math.exp(mean)
  local r = {
    ppl = ppl, stderr = ppl * se, nll = mean, nll_stderr = se,
    tokens = count, n_chunks = n_chunks, n_ctx = n_ctx,
  }
  if bctx then
    r.kld, r.kld_stderr = stats(kld_sum, kld_sum2, count)
    r.same_top = same / count
  end
  return r
end

return M
