/**
 * Electron's IPC without Electron: an ipcMain that keeps `handle` handlers, webContents that
 * record `send`, and an ipcRenderer wired to both. Arguments and results go through
 * structuredClone, as Electron's IPC serialises them, so what passes here passes there.
 */

import { EventEmitter } from "node:events";

import type { IpcMain, IpcMainInvokeEvent, IpcRenderer, IpcRendererEvent, WebContents } from "electron";

type Handler = (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown;

export class FakeIpcMain implements Pick<IpcMain, "handle" | "removeHandler"> {
  readonly handlers = new Map<string, Handler>();
  handle(channel: string, listener: (event: IpcMainInvokeEvent, ...args: any[]) => Promise<any> | any): void { // eslint-disable-line @typescript-eslint/no-explicit-any
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
}

let nextId = 1;

/** One page: its webContents (main side) and its ipcRenderer (preload side). */
export class FakePage {
  readonly id = nextId++;
  readonly sent: { channel: string; args: unknown[] }[] = [];
  private readonly wcEvents = new EventEmitter();
  private readonly rendererEvents = new EventEmitter();
  private destroyed = false;
  /** What `event.senderFrame` is; null models a frame that navigated away. */
  senderFrame: { url: string } | null = { url: "https://app.test/index.html" };

  constructor(private readonly ipcMain: FakeIpcMain) {}

  readonly webContents = {
    id: this.id,
    isDestroyed: () => this.destroyed,
    send: (channel: string, ...args: unknown[]) => {
      if (this.destroyed) throw new Error("Object has been destroyed");
      const cloned = structuredClone(args);
      this.sent.push({ channel, args: cloned });
      this.rendererEvents.emit(channel, { sender: this.ipcRenderer } as unknown as IpcRendererEvent, ...cloned);
    },
    once: (event: string, listener: () => void) => {
      this.wcEvents.once(event, listener);
      return this.webContents;
    },
  };

  readonly ipcRenderer: Pick<IpcRenderer, "invoke" | "on" | "removeListener"> = {
    invoke: async (channel: string, ...args: unknown[]) => {
      const handler = this.ipcMain.handlers.get(channel);
      if (!handler) throw new Error(`No handler registered for '${channel}'`);
      const event = { sender: this.webContents, senderFrame: this.senderFrame } as unknown as IpcMainInvokeEvent;
      return structuredClone(await handler(event, ...structuredClone(args)));
    },
    on: (channel: string, listener: (event: IpcRendererEvent, ...args: any[]) => void) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      this.rendererEvents.on(channel, listener);
      return this.ipcRenderer as IpcRenderer;
    },
    removeListener: (channel: string, listener: (...args: any[]) => void) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      this.rendererEvents.removeListener(channel, listener);
      return this.ipcRenderer as IpcRenderer;
    },
  };

  listenerCount(channel: string): number {
    return this.rendererEvents.listenerCount(channel);
  }

  destroy(): void {
    this.destroyed = true;
    this.wcEvents.emit("destroyed");
  }
}

export function asWebContents(page: FakePage): WebContents {
  return page.webContents as unknown as WebContents;
}
