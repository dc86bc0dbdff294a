"""The pycodesmall language server (pygls), installed as `pycodesmall.lsp_server`."""
