/** Types for npm `hashring` (3.x), the consistent hash ring the original proxy.js uses. */
declare module 'hashring' {
  interface HashRingServer {
    string: string;
    host: string;
    port: number;
    weight: number;
  }
  class HashRing {
    constructor(servers: Record<string, number> | string[] | string, algorithm?: string, options?: Record<string, unknown>);
    servers: HashRingServer[];
    get(key: string): string | undefined;
    add(servers: Record<string, number> | string[] | string): this;
    remove(server: string): this;
    has(server: string): boolean;
  }
  export default HashRing;
}
