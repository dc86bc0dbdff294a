from pycodesmall.lsp_server.cli import main

main()
