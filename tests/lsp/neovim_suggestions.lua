-- Driven by test_lsp_neovim.py: headless Neovim loads the plugin, opens a Python file, waits
-- for the real server to load its model, asks for suggestions at the end of the file and
-- writes them, with Neovim's version, as JSON to $PYCODESMALL_RESULT.
local env = vim.env
vim.opt.runtimepath:prepend(env.PYCODESMALL_PLUGIN)
vim.cmd("filetype on")
local pycodesmall = require("pycodesmall")
pycodesmall.setup({
  cmd = vim.fn.json_decode(env.PYCODESMALL_CMD),
  settings = { model = env.PYCODESMALL_TEST_MODEL, debounceMs = 0, repetitionPenalty = 1.0 },
})
vim.cmd("edit " .. vim.fn.fnameescape(env.PYCODESMALL_FILE))
local settled = vim.wait(120000, function()
  return pycodesmall.status.state == "ready" or pycodesmall.status.state == "error"
end, 50)
-- Where the cursor is while typing: after the last character (insert mode; in normal mode
-- that takes virtualedit=onemore).
vim.o.virtualedit = "onemore"
vim.api.nvim_win_set_cursor(0, { vim.fn.line("$"), #vim.fn.getline("$") })
local result = {
  version = vim.fn.execute("version"):match("NVIM v[%d.]+"),
  settled = settled,
  status = pycodesmall.status,
  filetype = vim.bo.filetype,
  suggestions = pycodesmall.suggestions(60000),
}
vim.fn.writefile({ vim.fn.json_encode(result) }, env.PYCODESMALL_RESULT)
vim.cmd("qall!")
