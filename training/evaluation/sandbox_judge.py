"""The judge and the program: tests that run outside the process of the code they test.

Why a second process. A verdict that comes out of the program's own process can be forged
by the program, whatever form it takes. A line on a pipe, an exit status or a secret
handed back at the end: code earlier in the same process can produce it first, because it
has the same memory, descriptors and credentials, and it can rewrite the reporting code
itself (`builtins.repr = ...`). No nonce helps, since anything the process holds the
process can read. So the tests do not run there. The *program* process executes the
solution and answers calls; the *judge* process executes the benchmark's tests and
decides, and it never executes a line of the solution.

Every name the tests use that the judge does not define itself (always the entry point;
also, say, the `Node` class that MBPP task 367's setup builds trees from) stands for an
object in the program. Calling it sends the call there. What comes back is plain data:
None, bool, int, float, complex, str, bytes, bytearray, tuple, list, dict, set and
frozenset, subclasses as their base type. The judge rebuilds it from its own types, so
`candidate(x) == expected` runs judge code on judge objects: a solution can give a wrong
answer, but it cannot make the answer compare equal to the right one, because no method
of the program's objects ever runs in a comparison. Any other value comes back as a
`Remote`. The program can call it, iterate it, index it, take its len, str and truth
value, and get and set its attributes. It compares by identity only. Modules come back by
name, and the judge imports its own copy of a standard-library module. Helpers that the
tests call (HumanEval's `poly`, `encode_cyclic` and `encode_shift`, from the prompt) run in
the judge from the benchmark's text, so a solution that redefines them changes only its
own copy.

What the program still decides: the values it returns, and, when it fails, which
exception it reports. That only chooses among failure categories. It cannot reach the
judge (sandbox_runner.py): the judge is the init of the program's PID namespace, which
takes no signal from inside it has no handler for; it is not dumpable, so there is no
ptrace and no /proc/<pid>/mem; and it holds descriptors the program never had. Nor can it
reach the tests' code or the verdict. If the program breaks the protocol, ends early or
sends malformed data, the sample fails, even if the tests catch what that raises.

Frames on the two pipes: an 8-byte big-endian length, then UTF-8 JSON.
  program -> judge: ["isolation", {...}] before any solution code runs; then ["ready"]
  or ["raised", report] once the solution's module code has run; then one reply per
  request, either ["value", data] or ["raised", report] (["values", {name: data}] for
  "names").
  judge -> program: ["names", [name, ...]], ["call", id, [arg, ...], [[key, arg], ...]],
  ["getattr", id, name], ["setattr", id, name, data], ["iter", id], ["next", id],
  ["len", id], ["bool", id], ["getitem", id, data], ["str", id].
Data: JSON null, booleans, numbers, strings and arrays (lists), plus one-key objects
{"tuple" | "set" | "frozenset": [...]}, {"dict": [[key, value], ...]},
{"bytes" | "bytearray": hex}, {"complex": [re, im]}, {"int": hex} for integers beyond 64
bits, {"module": name} and {"remote": [id, type name]}.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import json
import os
import struct
import sys
import types

__all__ = ["MESSAGE_CHARS", "ProgramEnded", "ProtocolError", "Link", "send", "receive",
           "run_solution", "judge"]

HEADER = struct.Struct(">Q")
MAX_FRAME_BYTES = 64 * 1024**2
MAX_DEPTH = 200
MESSAGE_CHARS = 200  # of an exception message kept in a result; the rest is dropped
NAME_CHARS = 64
MRO_NAMES = 16
SMALL_INT = 2**63
# Standard-library modules with side effects on import, never imported by name for a program.
_NOT_IMPORTED = frozenset({"antigravity", "this", "__hello__", "__phello__", "idlelib",
                           "turtledemo", "tkinter", "turtle"})


class ProtocolError(BaseException):
    """The program sent something the protocol does not allow. A BaseException, so that
    tests that catch Exception cannot turn a broken program into a passing one."""


class ProgramEnded(BaseException):
    """The program's replies stopped (it exited, was killed, or closed its pipe)."""


class ProgramExit(BaseException):
    """The solution raised SystemExit, KeyboardInterrupt or GeneratorExit in a call."""


class ProgramError(Exception):
    """The solution raised an exception that is not one of the builtin ones."""


# --- frames ---------------------------------------------------------------------------

def send(fd: int, message) -> None:
    data = json.dumps(message, allow_nan=True).encode()
    view = memoryview(HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _read_exactly(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise ProgramEnded("the program's pipe closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive(fd: int):
    (size,) = HEADER.unpack(_read_exactly(fd, HEADER.size))
    if size > MAX_FRAME_BYTES:
        raise ProtocolError(f"a frame of {size} bytes")
    data = _read_exactly(fd, size)
    try:
        return json.loads(data.decode())
    except (ValueError, RecursionError, MemoryError) as error:
        raise ProtocolError(f"a frame that is not JSON: {type(error).__name__}") from None


# --- plain data -------------------------------------------------------------------------

def encode(value, other, depth: int = 0):
    """`value` as data; `other(value)` encodes what is not plain data."""
    if depth > MAX_DEPTH:
        raise ValueError("a value nested too deeply to send")
    depth += 1
    if value is None or value is True or value is False:
        return value
    if isinstance(value, int):
        value = int(value)
        return value if -SMALL_INT <= value < SMALL_INT else {"int": hex(value)}
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, complex):
        return {"complex": [complex(value).real, complex(value).imag]}
    if isinstance(value, (bytes, bytearray)):
        return {"bytearray" if isinstance(value, bytearray) else "bytes": bytes(value).hex()}
    if isinstance(value, list):
        return [encode(item, other, depth) for item in list.__iter__(value)]
    if isinstance(value, tuple):
        return {"tuple": [encode(item, other, depth) for item in tuple.__iter__(value)]}
    if isinstance(value, dict):
        return {"dict": [[encode(key, other, depth), encode(item, other, depth)]
                         for key, item in dict.items(value)]}
    if isinstance(value, (set, frozenset)):
        tag = "frozenset" if isinstance(value, frozenset) else "set"
        return {tag: [encode(item, other, depth) for item in frozenset.__iter__(frozenset(value))]}
    return other(value)


_SEQUENCES = {"tuple": tuple, "set": set, "frozenset": frozenset}


def decode(data, resolve, depth: int = 0):
    """The value `data` describes; `resolve(tag, body)` gives modules and remote objects.
    Anything malformed raises ProtocolError."""
    try:
        return _decode(data, resolve, depth)
    except ProtocolError:
        raise
    except (TypeError, ValueError, KeyError, OverflowError, RecursionError,
            MemoryError) as error:
        raise ProtocolError(f"malformed data: {type(error).__name__}") from None


def _decode(data, resolve, depth):
    if depth > MAX_DEPTH:
        raise ProtocolError("data nested too deeply")
    depth += 1
    kind = type(data)
    if data is None or kind in (bool, int, float, str):
        return data
    if kind is list:
        return [_decode(item, resolve, depth) for item in data]
    if kind is not dict or len(data) != 1:
        raise ProtocolError(f"unexpected {kind.__name__} in data")
    ((tag, body),) = data.items()
    if tag in _SEQUENCES and type(body) is list:
        return _SEQUENCES[tag](_decode(item, resolve, depth) for item in body)
    if tag == "dict" and type(body) is list:
        pairs = [pair for pair in body if type(pair) is list and len(pair) == 2]
        if len(pairs) != len(body):
            raise ProtocolError("a dict entry that is not a pair")
        return {_decode(key, resolve, depth): _decode(item, resolve, depth)
                for key, item in pairs}
    if tag in ("bytes", "bytearray") and type(body) is str:
        return (bytes if tag == "bytes" else bytearray).fromhex(body)
    if (tag == "complex" and type(body) is list and len(body) == 2
            and all(type(part) in (int, float) for part in body)):
        return complex(*body)
    if tag == "int" and type(body) is str:
        return int(body, 16)
    if tag in ("module", "remote"):
        return resolve(tag, body)
    raise ProtocolError(f"unknown data tag {str(tag)[:NAME_CHARS]!r}")


# --- the program's side ---------------------------------------------------------------

def error_report(error: BaseException, filename: str = "<sample>", line_offset: int = 0) -> dict:
    """What is kept of an exception: class names, a capped message and the line."""
    try:
        message = str(error)[:MESSAGE_CHARS]
    except BaseException:
        message = "<unprintable>"
    line = getattr(error, "lineno", None) if isinstance(error, SyntaxError) else None
    if type(line) is not int:
        line = _last_line(error, filename)
    return {"exception": type(error).__name__[:NAME_CHARS],
            "mro": [cls.__name__[:NAME_CHARS] for cls in type(error).__mro__][:MRO_NAMES],
            "message": message, "line": None if line is None else line + line_offset}


def _last_line(error: BaseException, filename: str) -> int | None:
    line, traceback = None, error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == filename:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


class _Objects:
    """The program's side of remote objects: ids handed to the judge, kept alive."""

    def __init__(self):
        self.by_id: dict[int, object] = {}

    def describe(self, value):
        if isinstance(value, types.ModuleType):
            return {"module": value.__name__}
        self.by_id[id(value)] = value
        return {"remote": [id(value), type(value).__name__[:NAME_CHARS]]}

    def resolve(self, tag, body):
        if tag == "module":
            return importlib.import_module(body)
        return self.by_id[body[0]]


def run_solution(source: str, requests: int, replies: int) -> None:
    """In the program process, once isolated: run the solution as `__main__`, say whether
    its module code finished, then answer the judge until it hangs up."""
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(compile(source, "<sample>", "exec"), namespace)
    except BaseException as error:  # SystemExit and KeyboardInterrupt are failures too
        _flush()
        send(replies, ["raised", error_report(error)])
        return
    _flush()
    send(replies, ["ready"])
    objects = _Objects()
    while True:
        try:
            request = receive(requests)
        except ProgramEnded:
            return
        try:
            reply = _answer(request, namespace, objects)
        except BaseException as error:
            reply = ["raised", error_report(error)]
        _flush()
        send(replies, reply)


def _answer(request, namespace, objects):
    operation, *arguments = request
    if operation == "names":
        return ["values", {name: encode(namespace[name], objects.describe)
                           for name in arguments[0] if name in namespace}]
    target = objects.by_id[arguments[0]]
    values = [decode(argument, objects.resolve) for argument in arguments[1:]]
    if operation == "call":
        positional, keywords = values
        value = target(*positional, **dict(keywords))
    elif operation == "getattr":
        value = getattr(target, *values)
    elif operation == "setattr":
        value = setattr(target, *values)
    elif operation == "getitem":
        value = target[values[0]]
    else:
        value = _UNARY[operation](target)
    return ["value", encode(value, objects.describe)]


_UNARY = {"iter": iter, "next": next, "len": len, "bool": bool, "str": str}


# --- the judge's side -----------------------------------------------------------------

def _checked_report(report) -> dict:
    """A failure report from the program, checked and capped (it chooses only the category)."""
    if not (type(report) is dict and type(report.get("exception")) is str
            and type(report.get("mro")) is list
            and all(type(name) is str for name in report["mro"])
            and type(report.get("message")) is str
            and (report.get("line") is None or type(report["line"]) is int)):
        raise ProtocolError("a malformed failure report")
    line = report["line"]
    return {"exception": report["exception"][:NAME_CHARS],
            "mro": [name[:NAME_CHARS] for name in report["mro"][:MRO_NAMES]],
            "message": report["message"][:MESSAGE_CHARS],
            "line": line if line is None or 0 < line < 2**31 else None}


def _exception_from(report: dict) -> BaseException:
    """The exception the judge raises where the solution raised one: the builtin class of
    that name, so tests that expect, say, ValueError see one."""
    cls = getattr(builtins, report["exception"], None)
    error = None
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            error = cls(report["message"])
        except Exception:  # builtin exceptions with required arguments
            error = None
    if error is None:
        base = (ProgramError if "Exception" in report["mro"] else ProgramExit)
        error = base(f"{report['exception']}: {report['message']}")
    error.program_report = report
    return error


class Remote:
    """An object that lives in the program. It compares by identity only."""

    __slots__ = ("_link", "_id", "_type")

    def __init__(self, link, ident: int, type_name: str):
        object.__setattr__(self, "_link", link)
        object.__setattr__(self, "_id", ident)
        object.__setattr__(self, "_type", type_name)

    def __call__(self, *args, **kwargs):
        return self._link.ask(["call", self._id, self._link.encode(list(args)),
                               [[key, self._link.encode(value)] for key, value in kwargs.items()]])

    def __getattr__(self, name):
        if name in Remote.__slots__:
            raise AttributeError(name)
        return self._link.ask(["getattr", self._id, name])

    def __setattr__(self, name, value):
        self._link.ask(["setattr", self._id, name, self._link.encode(value)])

    def __iter__(self):
        return self._link.ask(["iter", self._id])

    def __next__(self):
        return self._link.ask(["next", self._id])

    def __len__(self):
        return self._link.ask(["len", self._id])

    def __bool__(self):
        return self._link.ask(["bool", self._id])

    def __getitem__(self, key):
        return self._link.ask(["getitem", self._id, self._link.encode(key)])

    def __str__(self):
        return self._link.ask(["str", self._id])

    def __repr__(self):
        return f"<{self._type} of the solution>"

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    __hash__ = object.__hash__


class Link:
    """The judge's ends of the two pipes. Once the program breaks the protocol or ends,
    the link stays broken, and the sample fails however the tests end."""

    def __init__(self, requests: int, replies: int):
        self.requests, self.replies = requests, replies
        self.remotes: dict[int, Remote] = {}
        self.broken: BaseException | None = None

    def receive(self):
        if self.broken is not None:
            raise self.broken
        try:
            message = receive(self.replies)
            if type(message) is not list or not message or type(message[0]) is not str:
                raise ProtocolError("a message that is not a list headed by its kind")
        except (ProtocolError, ProgramEnded) as error:
            self.broken = error
            raise
        return message

    def ask(self, request):
        if self.broken is not None:
            raise self.broken
        try:
            send(self.requests, request)
        except OSError:
            self.broken = ProgramEnded("the program's pipe closed")
            raise self.broken from None
        kind, *body = self.receive()
        if kind == "raised" and len(body) == 1:
            raise self._fail_if_malformed(lambda: _exception_from(_checked_report(body[0])))
        if kind in ("value", "values") and len(body) == 1:
            if kind == "value":
                return self._fail_if_malformed(lambda: decode(body[0], self.resolve))
            if type(body[0]) is dict:
                return self._fail_if_malformed(lambda: {
                    name: decode(data, self.resolve) for name, data in body[0].items()})
        self.broken = ProtocolError(f"an unexpected reply {kind[:NAME_CHARS]!r}")
        raise self.broken

    def _fail_if_malformed(self, make):
        try:
            return make()
        except ProtocolError as error:
            self.broken = error
            raise

    def encode(self, value):
        return encode(value, self._describe)

    def _describe(self, value):
        if isinstance(value, Remote):
            return {"remote": [value._id, value._type]}
        if isinstance(value, types.ModuleType):
            return {"module": value.__name__}
        raise TypeError(f"the tests cannot pass a {type(value).__name__} to the solution")

    def resolve(self, tag, body):
        if tag == "module":
            if type(body) is not str:
                raise ProtocolError("a module name that is not a string")
            if (body.partition(".")[0] not in sys.stdlib_module_names
                    or body.partition(".")[0] in _NOT_IMPORTED):
                raise ProtocolError(f"a module outside the standard library: {body[:NAME_CHARS]!r}")
            try:
                return importlib.import_module(body)
            except ImportError:
                raise ProtocolError(f"a module the judge lacks: {body[:NAME_CHARS]!r}") from None
        if not (type(body) is list and len(body) == 2 and type(body[0]) is int
                and type(body[1]) is str):
            raise ProtocolError("a malformed remote object")
        ident = body[0]
        if ident not in self.remotes:
            self.remotes[ident] = Remote(self, ident, body[1][:NAME_CHARS])
        return self.remotes[ident]


def _names_used(code) -> set[str]:
    return {node.id for node in ast.walk(code) if isinstance(node, ast.Name)}


def judge(link: Link, tests: dict | None) -> dict:
    """In the judge process: the verdict on the program at the other end of `link`.

    `tests` is None for a bare program: then "passed" means only that the program said its
    module code finished, which the program can forge (the isolation record says so).
    """
    kind, *body = link.receive()
    if kind == "raised" and len(body) == 1:
        return {"status": "failed", **link._fail_if_malformed(lambda: _checked_report(body[0]))}
    if kind != "ready":
        raise ProtocolError(f"an unexpected message {kind[:NAME_CHARS]!r}")
    if tests is None:
        return {"status": "passed"}
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(compile(tests["helpers"], "<helpers>", "exec"), namespace)
        code = compile(tests["code"], "<tests>", "exec", flags=ast.PyCF_ONLY_AST)
    except Exception as error:  # the benchmark's own text: a harness problem, not the sample's
        return {"status": "broken", "reason": f"the tests do not run: {error!r}"[:MESSAGE_CHARS]}
    entry_point = tests["entry_point"]
    wanted = sorted(name for name in _names_used(code) | {entry_point}
                    if name == entry_point
                    or (name not in namespace and not hasattr(builtins, name)))
    namespace.pop(entry_point, None)
    try:
        found = link.ask(["names", wanted])
        namespace.update({name: found[name] for name in wanted if name in found})
        exec(compile(code, "<tests>", "exec"), namespace)
    except BaseException as error:
        if link.broken is not None:
            raise link.broken from None
        own = error_report(error, "<tests>", tests["line_offset"])
        report = getattr(error, "program_report", None)
        if report is None:
            return {"status": "failed", **own}
        # Where the solution's error has no line of its own (a call with the wrong
        # arguments fails before the function starts), the test's line is the one.
        return {"status": "failed", **report, "line": report["line"] or own["line"]}
    if link.broken is not None:  # the tests caught what the broken link raised
        raise link.broken
    return {"status": "passed"}
