import type { ApiClient } from "../../src/api/client.ts";

/** What every screen receives from the app. */
export interface ScreenProps {
  client: ApiClient;
  /** A screen reports when a prompt takes all keys. */
  onCapture(capturing: boolean): void;
}
