/**
 * A fake of Electron's `session.webRequest`, typed as `Session["webRequest"]` so it cannot
 * drift from the real API. Like Electron it keeps one onHeadersReceived listener (the last
 * registered; `null` removes it) and applies the filter's resource types.
 */

import type { HeadersReceivedResponse, OnHeadersReceivedListenerDetails, Session, WebRequestFilter } from "electron";

type HeadersListener = (details: OnHeadersReceivedListenerDetails, callback: (r: HeadersReceivedResponse) => void) => void;

type AnyListener = ((...args: never[]) => void) | null;
/** Electron's type of `session.webRequest` (a class can implement only a named type). */
type WebRequest = Session["webRequest"];

export class FakeWebRequest implements WebRequest {
  filter: WebRequestFilter | null = null;
  listener: HeadersListener | null = null;
  registrations = 0;

  onHeadersReceived(filterOrListener: WebRequestFilter | HeadersListener | null, maybeListener?: HeadersListener | null): void {
    this.registrations++;
    if (typeof filterOrListener === "function" || filterOrListener === null) {
      this.filter = null;
      this.listener = filterOrListener;
    } else {
      this.filter = filterOrListener;
      this.listener = maybeListener ?? null;
    }
  }

  // The other events are not used by the shim: registering one is recorded, never called.
  readonly others: string[] = [];
  onBeforeRedirect(_a: WebRequestFilter | AnyListener, _b?: AnyListener): void {
    this.others.push("onBeforeRedirect");
  }
  onBeforeRequest(_a: WebRequestFilter | AnyListener, _b?: AnyListener): void {
    this.others.push("onBeforeRequest");
  }
  onBeforeSendHeaders(_a: WebRequestFilter | AnyListener, _b?: AnyListener): void {
    this.others.push("onBeforeSendHeaders");
  }
  onCompleted(_a: WebRequestFilter | AnyListener, _b?: AnyListener): void {
    this.others.push("onCompleted");
  }
  onErrorOccurred(_a: WebRequestFilter | AnyListener, _b?: AnyListener): void {
    this.others.push("onErrorOccurred");
  }
  onResponseStarted(_a: WebRequestFilter | AnyListener, _b?: AnyListener): void {
    this.others.push("onResponseStarted");
  }
  onSendHeaders(_a: WebRequestFilter | AnyListener, _b?: AnyListener): void {
    this.others.push("onSendHeaders");
  }

  /** Run a response through the listener, as Electron would; resolves to what it called back. */
  fire(details: Partial<OnHeadersReceivedListenerDetails> & Pick<OnHeadersReceivedListenerDetails, "url" | "resourceType">): Promise<HeadersReceivedResponse | "not-called"> {
    const full: OnHeadersReceivedListenerDetails = {
      id: 1,
      method: "GET",
      referrer: "",
      timestamp: Date.now(),
      statusLine: "HTTP/1.1 200 OK",
      statusCode: 200,
      ...details,
    };
    const listener = this.listener;
    if (!listener) return Promise.resolve("not-called");
    if (this.filter?.types && !this.filter.types.includes(full.resourceType as never)) return Promise.resolve("not-called");
    return new Promise((resolve) => listener(full, resolve));
  }
}

/** A session whose webRequest is the fake, typed as Electron's. */
export function fakeSession(): { session: Pick<Session, "webRequest">; webRequest: FakeWebRequest } {
  const webRequest = new FakeWebRequest();
  const typed: Session["webRequest"] = webRequest;
  return { session: { webRequest: typed }, webRequest };
}
