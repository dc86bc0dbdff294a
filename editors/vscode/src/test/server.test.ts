// The client side against the real server: the same libraries and settings code the
// extension uses, talking LSP over stdio to `python -m pycodesmall.lsp_server`.
// Run by tests/lsp/test_lsp_vscode_client.py, which passes the model and the expected answer:
//   PYCODESMALL_PYTHON, PYCODESMALL_TEST_MODEL, PYCODESMALL_TEST_SOURCE, PYCODESMALL_TEST_EXPECTED

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";

import {
  createProtocolConnection,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  InlineCompletionItem,
  InlineCompletionRequest,
  InlineCompletionTriggerKind,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
} from "vscode-languageserver-protocol/node";

import { STATUS_NOTIFICATION, ServerStatus, serverCommand, serverSettings } from "../settings";

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined) {
    throw new Error(`set ${name} (tests/lsp/test_lsp_vscode_client.py does)`);
  }
  return value;
}

test("inline completion from the real server, started and configured as the extension does", async (t) => {
  const source = required("PYCODESMALL_TEST_SOURCE");
  const expected: string[] = JSON.parse(required("PYCODESMALL_TEST_EXPECTED"));
  const settings: Record<string, unknown> = {
    pythonPath: required("PYCODESMALL_PYTHON"),
    model: required("PYCODESMALL_TEST_MODEL"),
    debounceMs: 0,
    repetitionPenalty: 1.0, // plain greedy, as the expected suggestions were computed
  };
  const config = { get: <T>(key: string) => settings[key] as T | undefined };
  const { command, args } = serverCommand(config);
  const server = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] });
  t.after(() => server.kill());
  const connection = createProtocolConnection(
    new StreamMessageReader(server.stdout),
    new StreamMessageWriter(server.stdin),
  );
  const settled = new Promise<ServerStatus>((resolve) =>
    connection.onNotification(STATUS_NOTIFICATION, (status: ServerStatus) => {
      if (status.state !== "loading") {
        resolve(status);
      }
    }),
  );
  connection.listen();

  const initialized = await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: null,
    capabilities: { textDocument: { inlineCompletion: {} } },
    initializationOptions: serverSettings(config),
  });
  assert.ok(initialized.capabilities.inlineCompletionProvider);
  assert.equal(initialized.capabilities.completionProvider, undefined);
  await connection.sendNotification(InitializedNotification.type, {});
  assert.equal((await settled).state, "ready");

  const uri = "file:///project/example.py";
  await connection.sendNotification(DidOpenTextDocumentNotification.type, {
    textDocument: { uri, languageId: "python", version: 1, text: source },
  });
  const lines = source.split("\n");
  const position = { line: lines.length - 1, character: lines[lines.length - 1].length };
  const result = await connection.sendRequest(InlineCompletionRequest.type, {
    textDocument: { uri },
    position,
    context: { triggerKind: InlineCompletionTriggerKind.Automatic },
  });
  const items: InlineCompletionItem[] = Array.isArray(result) ? result : (result?.items ?? []);
  assert.deepEqual(items.map((item) => item.insertText), expected);
  assert.ok(expected.length > 0);
  for (const item of items) {
    assert.deepEqual(item.range, { start: position, end: position });
  }

  await connection.sendRequest(ShutdownRequest.type);
  await connection.sendNotification(ExitNotification.type);
  const [code] = await once(server, "exit");
  assert.equal(code, 0);
  connection.dispose();
});
