/**
 * Link redaction for logs: a PDF link is a capability (whoever holds it can download the
 * report), so logs carry only its origin.
 */

/** The URL without its query and path tail (pdf links are capabilities: not for logs). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}/…`;
  } catch {
    return "(not a URL)";
  }
}

/** Text with every http(s) link cut to its origin (for logs). */
export function redactLinks(text: string): string {
  return text.replace(/\bhttps?:\/\/[^\s"'<>\\]+/gi, (link) => redactUrl(link));
}
