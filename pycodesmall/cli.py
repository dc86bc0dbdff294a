"""The `pycodesmall` command: complete code, list and download models, try them in a browser."""

from __future__ import annotations

import functools
import math
import sys
import time

import click

from pycodesmall.errors import PycodesmallError

BACKEND_CHOICES = click.Choice(["auto", "torch", "onnx", "onnx-int8"])


def _fail_cleanly(func):
    """Turn pycodesmall's own errors into one-line messages instead of tracebacks."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except PycodesmallError as e:
            raise click.ClickException(str(e)) from None
    return wrapper


@click.group()
@click.version_option(package_name="pycodesmall")
def main() -> None:
    """Small language models for Python code."""


def _finite(ctx, param, value):
    """FloatRange lets nan through (every comparison with nan is false)."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number")
    return value


def _utf8_text(ctx, param, value):
    """Arguments arrive decoded with `surrogateescape`: bytes that were not UTF-8 become lone
    surrogates, which must not reach the tokenizer."""
    if value is not None:
        _require_utf8(value, param.human_readable_name if param.param_type_name == "argument"
                      else param.opts[0])
    return value


def _require_utf8(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        char = ord(text[e.start])
        byte = f"byte {char - 0xDC00:#04x}" if 0xDC80 <= char <= 0xDCFF else f"U+{char:04X}"
        raise click.UsageError(f"{what} is not valid UTF-8 ({byte} at character {e.start})") from None


def _read_utf8(file_) -> str:
    data = file_.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise click.UsageError(f"{file_.name} is not UTF-8 (byte {data[e.start]:#04x} at line {line}, "
                               f"column {column}): save it as UTF-8, the encoding of Python source") from None


@main.command()
@click.argument("prompt", required=False, callback=_utf8_text)
@click.option("--file", "file_", type=click.File("rb"), help="Read the prompt from a file ('-' for stdin).")
@click.option("--suffix", default="", callback=_utf8_text, help="Code after the cursor (fill-in-the-middle).")
@click.option("--model", "-m", default=None, help="Released name, local directory or Hub repo id.")
@click.option("--revision", default=None, help="Hub revision (commit, branch or tag).")
@click.option("--max-new-tokens", default=64, show_default=True, type=click.IntRange(min=1))
@click.option("--max-lines", default=None, type=click.IntRange(min=1), help="Stop after this many lines.")
@click.option("--temperature", "-t", default=0.0, show_default=True, type=click.FloatRange(min=0),
              callback=_finite)
@click.option("--top-p", default=None, type=click.FloatRange(0, 1, min_open=True), callback=_finite)
@click.option("--seed", default=None, type=click.IntRange(0, 2**64 - 1))
@click.option("-n", "num", default=1, show_default=True, type=click.IntRange(min=1), help="Number of completions.")
@click.option("--backend", default="auto", show_default=True, type=BACKEND_CHOICES)
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--no-validate", is_flag=True, help="Do not cut completions to valid Python.")
@click.option("--only-completion", is_flag=True, help="Print the completion without the prompt.")
@_fail_cleanly
def complete(prompt, file_, suffix, model, revision, max_new_tokens, max_lines, temperature, top_p,
             seed, num, backend, device, no_validate, only_completion):
    """Complete PROMPT (or the code in --file) with a model."""
    from pycodesmall import api

    if (prompt is None) == (file_ is None):
        raise click.UsageError("give either PROMPT or --file")
    text = _read_utf8(file_) if file_ is not None else prompt
    started = time.perf_counter()
    loaded = api.load(model, revision=revision, device=device, backend=backend)
    loaded_at = time.perf_counter()
    results = api.complete(text, model=loaded, suffix=suffix, n=num, max_new_tokens=max_new_tokens,
                           max_lines=max_lines, temperature=temperature, top_p=top_p, seed=seed,
                           validate=not no_validate)
    done = time.perf_counter()
    for index, result in enumerate(results if num > 1 else [results]):
        if num > 1:
            click.secho(f"# --- completion {index + 1} ---", fg="cyan", err=True)
        click.echo(result.text if only_completion else text + result.text + suffix)
    click.secho(f"# {loaded.name}: loaded in {loaded_at - started:.2f}s, completed in "
                f"{done - loaded_at:.2f}s", fg="bright_black", err=True)


@main.command()
def models():
    """List the released models and where each comes from."""
    from pycodesmall.hub import list_models

    for m in list_models():
        click.echo(f"{m.name:24} {m.source:40} {m.description}")


@main.command("export-onnx")
@click.argument("model")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Folder for model.onnx (default: beside the weights, or the user cache).")
@click.option("--revision", default=None, help="Hub revision (commit, branch or tag).")
@click.option("--dtype", default="fp32", show_default=True, type=click.Choice(["fp32", "fp16"]))
@click.option("--quantize", default=None, type=click.Choice(["int8"]),
              help="Dynamic int8 quantization of the weights (smaller and faster on CPU).")
@click.option("--force", is_flag=True, help="Export again even if an up-to-date export exists.")
@_fail_cleanly
def export_onnx(model, out_dir, revision, dtype, quantize, force):
    """Export MODEL to ONNX for the ONNX Runtime backend; print the file written."""
    from pycodesmall.hub import resolve
    from pycodesmall.onnx_export import export_onnx as export

    click.echo(str(export(resolve(model, revision), out_dir, dtype, quantize, force)))


@main.command()
@click.argument("name")
@click.option("--revision", default=None, help="Hub revision (commit, branch or tag).")
@_fail_cleanly
def download(name, revision):
    """Download model NAME into the local cache so it works offline; print its path."""
    from pycodesmall.hub import resolve

    click.echo(str(resolve(name, revision)))


@main.command()
@click.option("--model", "-m", default=None, help="Released name, local directory or Hub repo id.")
@click.option("--backend", default="auto", show_default=True, type=BACKEND_CHOICES)
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; the default lets only this machine connect.")
@click.option("--port", "-p", default=8765, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on; 0 picks a free one.")
@click.option("--no-browser", is_flag=True, help="Print the page's address without opening a browser.")
@_fail_cleanly
def demo(model, backend, device, host, port, no_browser):
    """Try completions in a local web page: ghost text as you type, as in an editor."""
    import webbrowser

    from pycodesmall.lsp_server.demo import start_demo
    from pycodesmall.lsp_server.settings import Settings

    click.secho(f"# loading {model or 'the bundled model'}", fg="bright_black", err=True)
    # The page waits for a pause in typing itself; the server still drops superseded requests.
    with start_demo(Settings(model=model, backend=backend, device=device, debounce_ms=0),
                    host, port) as server:
        click.echo(server.url)
        click.secho(f"# {server.completer.model!r}; Ctrl+C stops the demo", fg="bright_black", err=True)
        if not no_browser and not webbrowser.open(server.url):
            click.secho("# no browser found: open the address above", fg="bright_black", err=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    sys.exit(main())
