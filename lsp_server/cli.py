"""The `pycodesmall-lsp` command: run the language server (stdio or TCP) or its doctor."""

from __future__ import annotations

import logging
import os
import sys

import click
import torch

from pycodesmall.pretrained import BACKENDS

from pycodesmall.lsp_server.doctor import run_check
from pycodesmall.lsp_server.server import create_server
from pycodesmall.lsp_server.settings import Settings


def _host_port(ctx, param, value: str | None) -> tuple[str, int] | None:
    if value is None:
        return None
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter("expected HOST:PORT, for example 127.0.0.1:2087")
    return host, int(port)


@click.command()
@click.version_option(package_name="pycodesmall")
@click.option("--tcp", callback=_host_port, metavar="HOST:PORT",
              help="Listen on a TCP socket instead of talking over stdin/stdout.")
@click.option("--model", "-m", default=None,
              help="Released name, local directory or Hub repo id (editor settings may override).")
@click.option("--backend", default="auto", show_default=True, type=click.Choice(BACKENDS))
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(min=1),
              help="CPU threads for the model. Decoding one suggestion gains little from more, and "
                   "one thread keeps latency steady while the editor and other programs use the cores.")
@click.option("--check", is_flag=True, help="Load the model, run one completion, print timings, exit.")
@click.option("--log-file", type=click.Path(dir_okay=False), help="Write the server log here (default: stderr).")
@click.option("--log-level", default="WARNING", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]))
def main(tcp, model, backend, device, threads, check, log_file, log_level) -> None:
    """Language server that completes Python code with a small local model."""
    torch.set_num_threads(threads)
    defaults = Settings(model=model, backend=backend, device=device)
    if check:
        sys.exit(run_check(defaults))
    logging.basicConfig(filename=log_file, level=log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The worker thread decodes in Python between torch calls; a short switch interval lets
    # the event loop take the GIL within about a millisecond to read a `$/cancelRequest`.
    sys.setswitchinterval(0.001)
    server = create_server(defaults)
    # 0 after `shutdown` then `exit`, 1 when the client exits (or goes) without `shutdown`.
    code = server.start_io() if tcp is None else server.start_tcp(*tcp)
    # Without the interpreter's teardown: unloading torch and the model takes half a second
    # or more, which an editor waits for, and nothing in it needs to run (decodes are
    # cancelled, every message is written).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
