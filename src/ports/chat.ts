/** The Chat port: where escalation notices go (Slack). */
export interface Chat {
  postMessage(channel: string, text: string): Promise<void>;
}
