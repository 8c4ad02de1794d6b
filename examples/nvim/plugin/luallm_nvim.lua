-- :LuallmAsk and :LuallmCancel exist as soon as the plugin is on the
-- runtimepath; the model comes from vim.g.luallm_model or a later setup().
if vim.g.loaded_luallm_nvim then return end
vim.g.loaded_luallm_nvim = true
require("luallm_nvim").create_commands()
