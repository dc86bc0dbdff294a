-- pycodesmall for Neovim: Python completions from a small local model.
--
--   require("pycodesmall").setup({ settings = { model = "pycodesmall-tiny", maxLines = 1 } })
--
-- Neovim 0.11+ registers the server with vim.lsp.config/vim.lsp.enable; 0.8-0.10 start it
-- with vim.lsp.start and 0.7 with vim.lsp.start_client. Where Neovim has built-in inline
-- completion (0.12+) suggestions show as ghost text; elsewhere they come through the
-- completion menu (omnifunc, <C-x><C-o>, or nvim-cmp's LSP source) and :PycodesmallComplete.

local M = {}

M.defaults = {
  -- Command that starts the server; { "python3", "-m", "pycodesmall.lsp_server" } works too.
  cmd = { "pycodesmall-lsp" },
  filetypes = { "python" },
  -- Server settings (camelCase, see editors/neovim/README.md): model, backend, device,
  -- maxNewTokens, maxLines, temperature, candidates, debounceMs, validate.
  settings = {},
  -- Use Neovim's built-in inline completion (ghost text) where it exists.
  inline = true,
}

M.status = { state = "stopped", message = "not started" }

local NAME = "pycodesmall"
local legacy_client_id = nil

local function on_status(_, result)
  M.status = result
  if result.state == "error" then
    vim.notify("pycodesmall: " .. result.message, vim.log.levels.ERROR)
  end
end

-- Ghost text where Neovim has built-in inline completion (0.12+) and the user wants it.
local function inline_wanted()
  return M.config.inline and vim.lsp.inline_completion ~= nil
end

-- The server offers inline completion to clients that announce it and the completion menu to
-- the others, so a client that will not show ghost text must not announce it.
local function before_init(params)
  if not inline_wanted() then
    params.capabilities.textDocument.inlineCompletion = nil
  end
end

local function on_attach(_, bufnr)
  if inline_wanted() then
    vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
  else
    vim.bo[bufnr].omnifunc = "v:lua.vim.lsp.omnifunc"
  end
end

-- The settings go as initialization options only: with `settings` set too, Neovim 0.8+ sends
-- them again in workspace/didChangeConfiguration, and the server loads the model twice.
local function client_config()
  return {
    name = NAME,
    cmd = M.config.cmd,
    root_dir = vim.fn.getcwd(),
    init_options = vim.deepcopy(M.config.settings),
    handlers = { ["pycodesmall/status"] = on_status },
    before_init = before_init,
    on_attach = on_attach,
  }
end

-- Before 0.11: start (or reuse) the client for a buffer.
local function attach_legacy(bufnr)
  if vim.lsp.start then -- 0.8+
    vim.lsp.start(client_config(), { bufnr = bufnr })
    return
  end
  if legacy_client_id == nil or vim.lsp.get_client_by_id(legacy_client_id) == nil then
    legacy_client_id = vim.lsp.start_client(client_config())
  end
  if legacy_client_id then
    vim.lsp.buf_attach_client(bufnr, legacy_client_id)
  end
end

local function get_client(bufnr)
  local clients = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = bufnr, name = NAME })
    or vim.lsp.buf_get_clients(bufnr)
  for _, client in pairs(clients) do
    if client.name == NAME then
      return client
    end
  end
end

-- Client methods are called with ':' from 0.11 on, with '.' before.
local function request_sync(client, method, params, timeout_ms, bufnr)
  if vim.fn.has("nvim-0.11") == 1 then
    return client:request_sync(method, params, timeout_ms, bufnr)
  end
  return client.request_sync(method, params, timeout_ms, bufnr)
end

--- Suggestions at the cursor of the current buffer, as text to insert there (best first),
--- asked for with the request behind what the buffer shows: ghost text or the completion menu.
function M.suggestions(timeout_ms)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = get_client(bufnr)
  if client == nil then
    return {}
  end
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  local texts = {}
  if inline_wanted() then
    params.context = { triggerKind = 1 }
    local response = request_sync(client, "textDocument/inlineCompletion", params, timeout_ms or 2000, bufnr)
    local result = response and response.result or {}
    for _, item in ipairs(result.items or result) do
      table.insert(texts, type(item.insertText) == "string" and item.insertText or item.insertText.value)
    end
  else
    local response = request_sync(client, "textDocument/completion", params, timeout_ms or 2000, bufnr)
    local result = response and response.result or {}
    for _, item in ipairs(result.items or result) do
      local typed = params.position.character - item.textEdit.range.start.character
      table.insert(texts, item.textEdit.newText:sub(typed + 1))
    end
  end
  return texts
end

--- Insert the best suggestion at the cursor (for Neovim versions without ghost text).
function M.complete()
  local text = M.suggestions()[1]
  if text == nil then
    vim.notify("pycodesmall: no suggestion here (" .. M.status.state .. ": " .. M.status.message .. ")")
    return
  end
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  local lines = vim.split(text, "\n", { plain = true })
  vim.api.nvim_buf_set_text(0, row - 1, col, row - 1, col, lines)
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", M.defaults, opts or {})
  vim.api.nvim_create_user_command("PycodesmallComplete", M.complete, {})
  if vim.lsp.config and vim.lsp.enable then -- 0.11+
    local config = client_config()
    config.root_dir = nil
    config.filetypes = M.config.filetypes
    vim.lsp.config(NAME, config)
    vim.lsp.enable(NAME)
    return
  end
  local group = vim.api.nvim_create_augroup(NAME, { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = M.config.filetypes,
    callback = function(args)
      attach_legacy(args.buf)
    end,
  })
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(M.config.filetypes, vim.bo[bufnr].filetype) then
      attach_legacy(bufnr)
    end
  end
end

return M
