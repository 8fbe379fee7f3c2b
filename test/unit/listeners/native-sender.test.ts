import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { ADDR_BYTES, formatIpv6, SlotSender } from '../../../src/listeners/native.js';

/** A struct sockaddr_in / sockaddr_in6 as the kernel writes it (sa_family in host order, port in network order). */
function sockaddr(buf: Buffer, slot: number, family: 2 | 10, port: number, addr: number[]): void {
  const o = slot * ADDR_BYTES;
  if (os.endianness() === 'LE') buf.writeUInt16LE(family, o);
  else buf.writeUInt16BE(family, o);
  buf.writeUInt16BE(port, o + 2);
  if (family === 2) for (let k = 0; k < 4; k++) buf[o + 4 + k] = addr[k]!;
  else for (let k = 0; k < 8; k++) buf.writeUInt16BE(addr[k]!, o + 8 + 2 * k);
}

describe("the native reader's sender (rinfo) decoding", () => {
  it("reads each slot's IPv4 or IPv6 sender, as dgram formats it", () => {
    const buf = Buffer.alloc(4 * ADDR_BYTES);
    sockaddr(buf, 0, 2, 8125, [127, 0, 0, 1]);
    sockaddr(buf, 1, 10, 65535, [0, 0, 0, 0, 0, 0, 0, 1]);
    sockaddr(buf, 2, 10, 1, [0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001]);
    sockaddr(buf, 3, 10, 40000, [0x2001, 0xdb8, 0, 0, 1, 0, 0, 0xabcd]);
    const s = new SlotSender(buf);
    const read = (slot: number) => {
      s.slot = slot;
      return { address: s.address, family: s.family, port: s.port };
    };
    expect(read(0)).toEqual({ address: '127.0.0.1', family: 'IPv4', port: 8125 });
    expect(read(1)).toEqual({ address: '::1', family: 'IPv6', port: 65535 });
    expect(read(2)).toEqual({ address: '::ffff:10.0.0.1', family: 'IPv6', port: 1 });
    expect(read(3)).toEqual({ address: '2001:db8::1:0:0:abcd', family: 'IPv6', port: 40000 });
  });

  it('compresses the longest run of two or more zero groups, as Node does', () => {
    expect(formatIpv6([0, 0, 0, 0, 0, 0, 0, 0])).toBe('::');
    expect(formatIpv6([0xfe80, 0, 0, 0, 0x1, 0x2, 0x3, 0x4])).toBe('fe80::1:2:3:4');
    expect(formatIpv6([1, 0, 2, 0, 0, 3, 0, 0])).toBe('1:0:2::3:0:0');
    expect(formatIpv6([1, 2, 3, 4, 5, 6, 7, 8])).toBe('1:2:3:4:5:6:7:8');
    expect(formatIpv6([1, 0, 2, 3, 4, 5, 6, 7])).toBe('1:0:2:3:4:5:6:7');
  });
});
