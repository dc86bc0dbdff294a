// The VS Code side: start `pycodesmall-lsp`, pass the settings on, show its state.
// Inline (ghost text) completion comes from vscode-languageclient 10, which enables
// `textDocument/inlineCompletion` by default.

import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ServerOptions } from "vscode-languageclient/node";

import { STATUS_NOTIFICATION, ServerStatus, serverCommand, serverSettings } from "./settings";

const SECTION = "pycodesmall";
const ICONS: Record<ServerStatus["state"], string> = {
  loading: "$(sync~spin)",
  ready: "$(sparkle)",
  error: "$(error)",
};

let client: LanguageClient | undefined;
let statusItem: vscode.StatusBarItem;
let output: vscode.LogOutputChannel;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("pycodesmall", { log: true });
  statusItem = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  statusItem.command = "pycodesmall.showOutput";
  context.subscriptions.push(
    output,
    statusItem,
    vscode.commands.registerCommand("pycodesmall.restart", restart),
    vscode.commands.registerCommand("pycodesmall.showOutput", () => output.show()),
    vscode.workspace.onDidChangeConfiguration(onConfigurationChanged),
  );
  await start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}

async function start(): Promise<void> {
  const config = vscode.workspace.getConfiguration(SECTION);
  const { command, args } = serverCommand(config);
  // No `transport`: it still talks over stdio, and `TransportKind.stdio` would append a
  // `--stdio` argument that `pycodesmall-lsp` rejects.
  const serverOptions: ServerOptions = { command, args };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ language: "python" }],
    initializationOptions: serverSettings(config),
    outputChannel: output,
  };
  client = new LanguageClient(SECTION, "pycodesmall", serverOptions, clientOptions);
  client.onNotification(STATUS_NOTIFICATION, showStatus);
  showStatus({ state: "loading", message: `starting ${command} ${args.join(" ")}` });
  try {
    await client.start();
  } catch (error) {
    showStatus({
      state: "error",
      message: `could not start ${command}: ${error}. Set pycodesmall.pythonPath to a Python with pycodesmall[lsp] installed.`,
    });
  }
}

async function restart(): Promise<void> {
  await deactivate();
  await start();
}

async function onConfigurationChanged(event: vscode.ConfigurationChangeEvent): Promise<void> {
  if (event.affectsConfiguration(`${SECTION}.pythonPath`) || event.affectsConfiguration(`${SECTION}.serverCommand`)) {
    await restart();
  } else if (event.affectsConfiguration(SECTION) && client?.isRunning()) {
    await client.sendNotification("workspace/didChangeConfiguration", {
      settings: { [SECTION]: serverSettings(vscode.workspace.getConfiguration(SECTION)) },
    });
  }
}

function showStatus(status: ServerStatus): void {
  statusItem.text = `${ICONS[status.state] ?? ""} pycodesmall`;
  statusItem.tooltip = status.message;
  statusItem.show();
}
