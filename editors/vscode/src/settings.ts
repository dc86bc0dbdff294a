// What the extension sends to the server, and how it starts it. Kept free of the `vscode`
// module so that the Node test uses the same code with a real server process.

/** The part of VS Code's `WorkspaceConfiguration` this module needs. */
export interface ConfigurationReader {
  get<T>(section: string): T | undefined;
}

/** Settings the server understands (see `lsp_server/settings.py`), in its camelCase names. */
export const SERVER_SETTINGS = [
  "model",
  "backend",
  "device",
  "maxNewTokens",
  "maxLines",
  "temperature",
  "repetitionPenalty",
  "candidates",
  "debounceMs",
  "validate",
] as const;

/** Only the server's own settings: `pythonPath` and `serverCommand` are the extension's. */
export function serverSettings(config: ConfigurationReader): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const key of SERVER_SETTINGS) {
    const value = config.get<unknown>(key);
    if (value !== undefined) {
      settings[key] = value;
    }
  }
  return settings;
}

/** The command line that starts the server: `serverCommand` if set, else `<python> -m ...`. */
export function serverCommand(config: ConfigurationReader): { command: string; args: string[] } {
  const custom = config.get<string[]>("serverCommand") ?? [];
  if (custom.length > 0) {
    return { command: custom[0], args: custom.slice(1) };
  }
  const python = config.get<string>("pythonPath") || "python3";
  return { command: python, args: ["-m", "pycodesmall.lsp_server"] };
}

/** The `pycodesmall/status` notification the server sends while it loads its model. */
export interface ServerStatus {
  state: "loading" | "ready" | "error";
  message: string;
}

export const STATUS_NOTIFICATION = "pycodesmall/status";
