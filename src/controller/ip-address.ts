/**
 * IP addresses in one spelling, so that the pod's `status.podIPs` and Nacos's `ip` compare equal
 * whatever form each side wrote: IPv6 lower-cased and compressed (`2001:DB8:0:0::1` →
 * `2001:db8::1`), IPv4 without leading zeros. Anything else (a host name some apps register
 * instead of an IP) is only lower-cased: it then matches no pod IP, which is the truth.
 */

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function canonicalIp(text: string): string {
  const trimmed = text.trim().toLowerCase();
  const v4 = IPV4.exec(trimmed);
  if (v4) {
    const parts = v4.slice(1).map(Number);
    return parts.every((part) => part <= 255) ? parts.join('.') : trimmed;
  }
  if (trimmed.includes(':') && /^[0-9a-f:.]+$/.test(trimmed)) {
    try {
      // WHATWG URL serialises an IPv6 host in RFC 5952's canonical form.
      return new URL(`http://[${trimmed}]/`).hostname.slice(1, -1);
    } catch {
      return trimmed;
    }
  }
  return trimmed;
}
