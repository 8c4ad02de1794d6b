-- busted output handler: the utfTerminal report, then one closing line
-- `N passed, N failed, N skipped` that CI reads. Errors count as failed.
return function(options)
  local busted = require("busted")
  local base = require("busted.outputHandlers.utfTerminal")(options)
  local passed, failed, skipped = 0, 0, 0

  busted.subscribe({ "test", "end" }, function(_, _, status)
    if status == "success" then
      passed = passed + 1
    elseif status == "pending" then
      skipped = skipped + 1
    else
      failed = failed + 1
    end
    return nil, true
  end)

  busted.subscribe({ "error", "file" }, function()
    failed = failed + 1
    return nil, true
  end)
  busted.subscribe({ "error", "describe" }, function()
    failed = failed + 1
    return nil, true
  end)

  busted.subscribe({ "suite", "end" }, function()
    io.write(string.format("\n%d passed, %d failed, %d skipped\n", passed, failed, skipped))
    io.flush()
    return nil, true
  end)

  return base
end
