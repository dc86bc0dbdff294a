-- Driven by test_lsp_neovim.py: headless Neovim loads the plugin, opens a Python file, waits
-- for the real server to load its model and writes, as JSON to $PYCODESMALL_RESULT, what the
-- user gets at the end of the file. With PYCODESMALL_INLINE=1 that is the ghost text shown in
-- insert mode and the buffer after accepting it; otherwise the suggestions the plugin asks for.
local env = vim.env
vim.opt.runtimepath:prepend(env.PYCODESMALL_PLUGIN)
vim.cmd("filetype on")
local inline = env.PYCODESMALL_INLINE == "1"
local pycodesmall = require("pycodesmall")
pycodesmall.setup({
  cmd = vim.fn.json_decode(env.PYCODESMALL_CMD),
  inline = inline,
  settings = { model = env.PYCODESMALL_TEST_MODEL, debounceMs = 0, repetitionPenalty = 1.0 },
})
vim.cmd("edit " .. vim.fn.fnameescape(env.PYCODESMALL_FILE))
local result = {
  version = vim.fn.execute("version"):match("NVIM v[%w.-]+"),
  settled = vim.wait(120000, function()
    return pycodesmall.status.state == "ready" or pycodesmall.status.state == "error"
  end, 50),
  status = pycodesmall.status,
  filetype = vim.bo.filetype,
}

local function finish()
  vim.fn.writefile({ vim.fn.json_encode(result) }, env.PYCODESMALL_RESULT)
  vim.cmd("qall!")
end

-- The text of Neovim's inline-completion extmark in the current buffer, lines joined by "\n".
local function ghost_text()
  local namespace = vim.api.nvim_get_namespaces()["nvim.lsp.inline_completion"]
  local marks = namespace and vim.api.nvim_buf_get_extmarks(0, namespace, 0, -1, { details = true }) or {}
  if marks[1] == nil then
    return nil
  end
  local details = marks[1][4]
  local lines = {}
  for _, chunks in ipairs({ details.virt_text, unpack(details.virt_lines or {}) }) do
    table.insert(lines, table.concat(vim.tbl_map(function(chunk) return chunk[1] end, chunks)))
  end
  return table.concat(lines, "\n")
end

if inline then
  -- Type as a user would: append at the end of the last line, wait for the ghost text, accept it.
  vim.api.nvim_create_autocmd("InsertEnter", { once = true, callback = vim.schedule_wrap(function()
    vim.wait(60000, function() return ghost_text() ~= nil end, 50)
    result.ghost_text = ghost_text() or vim.NIL
    result.accepted = vim.lsp.inline_completion.get()
    vim.wait(5000, function() return vim.bo.modified end, 10)
    result.text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, true), "\n")
    finish()
  end) })
  vim.api.nvim_win_set_cursor(0, { vim.fn.line("$"), 0 })
  vim.cmd("startinsert!")
else
  -- Where the cursor is while typing: after the last character (insert mode; in normal mode
  -- that takes virtualedit=onemore).
  vim.o.virtualedit = "onemore"
  vim.api.nvim_win_set_cursor(0, { vim.fn.line("$"), #vim.fn.getline("$") })
  result.suggestions = pycodesmall.suggestions(60000)
  finish()
end
