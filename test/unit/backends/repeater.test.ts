import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { createRepeaterBackend } from '../../../src/backends/repeater/index.js';
import { config, context } from './fixtures.js';
import { waitFor } from './net-helpers.js';

describe('repeater backend', () => {
  it('forwards the exact packet bytes to every target over UDP', async () => {
    const receivers = [createSocket('udp4'), createSocket('udp4')];
    const got: Buffer[][] = [[], []];
    const ports: number[] = [];
    for (let i = 0; i < 2; i++) {
      receivers[i]!.on('message', (m) => got[i]!.push(m));
      await new Promise<void>((r) => receivers[i]!.bind(0, '127.0.0.1', () => r()));
      ports.push(receivers[i]!.address().port);
    }
    const b = createRepeaterBackend(
      context(
        config({
          repeater: [
            { host: '127.0.0.1', port: ports[0]! },
            { host: 'localhost', port: ports[1]! },
          ],
        }),
      ),
    );
    try {
      await b.start();
      const packet = Buffer.from('xxfoo:1|c\nbar:2|ms|@0.5\n\xffyy', 'latin1');
      b.packet!(packet, 2, packet.length - 2); // a range inside a larger buffer
      await b.flush({} as never); // flush does nothing
      await waitFor(() => got[0]!.length === 1 && got[1]!.length === 1, 2000, 'both targets');
      expect(got[0]![0]).toEqual(packet.subarray(2, packet.length - 2));
      expect(got[1]![0]).toEqual(packet.subarray(2, packet.length - 2));
      expect(Object.fromEntries(b.status())).toEqual({ packets_sent: 2, send_errors: 0 });
    } finally {
      await b.stop(100);
      for (const r of receivers) r.close();
    }
  });

  it('never throws after stop or on a bad target', async () => {
    const b = createRepeaterBackend(context(config({ repeater: [{ host: 'no-such-host.invalid', port: 9 }] })));
    await b.start();
    expect(() => b.packet!(Buffer.from('a:1|c'), 0, 5)).not.toThrow();
    await waitFor(() => Number(Object.fromEntries(b.status())['send_errors']) >= 1, 5000, 'dns error counted');
    await b.stop(100);
    expect(() => b.packet!(Buffer.from('a:1|c'), 0, 5)).not.toThrow();
  });
});
